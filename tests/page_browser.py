#!/usr/bin/env python3
"""page_browser.py: drives bark serve's operator page in headless Chromium over the DevTools protocol (standard library
only: a minimal WebSocket client) and asserts what an operator sees; optionally in front of a stand-in for the queue
and cache endpoints, or with one of the page's files broken (then it must fail)."""
import argparse
import base64
import http.client
import http.server
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

VOICE = "v2/en_speaker_0"
CACHED = {"key": "c0ffee", "text": "Hello from the cache.", "voice": VOICE, "seed": 7, "bytes": 123456,
          "last_used": 1767225600}


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)
    print("   ok: " + what, flush=True)


# ---- a WebSocket client, just enough for the DevTools protocol (RFC 6455: masked text frames out) ----

class WebSocket:
    def __init__(self, url):
        hostport, path = url[len("ws://"):].split("/", 1)
        host, port = hostport.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=180)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, hostport, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise Failed("DevTools closed the WebSocket handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise Failed("DevTools refused the WebSocket: %r" % head[:200])

    def _exact(self, n):
        b = b""
        while len(b) < n:
            chunk = self.sock.recv(n - len(b))
            if not chunk:
                raise Failed("DevTools closed the WebSocket")
            b += chunk
        return b

    def send(self, text):
        data, mask = text.encode(), os.urandom(4)
        n = len(data)
        head = struct.pack("!B", 0x81)
        if n < 126:
            head += struct.pack("!B", 0x80 | n)
        elif n < 1 << 16:
            head += struct.pack("!BH", 0x80 | 126, n)
        else:
            head += struct.pack("!BQ", 0x80 | 127, n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._exact(8))[0]
            payload = self._exact(n)
            op = b0 & 0x0F
            if op == 8:
                raise Failed("DevTools closed the WebSocket")
            if op in (0, 1, 2):
                message += payload
                if b0 & 0x80:
                    return message.decode()


class Page:
    """One page target: commands, the events seen meanwhile (exceptions, console and log entries)."""

    def __init__(self, ws_url):
        self.ws, self.next_id, self.problems = WebSocket(ws_url), 0, []

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise Failed("%s: %s" % (method, m["error"]))
                return m["result"]
            self._event(m)

    def _event(self, m):
        p = m.get("params", {})
        if m.get("method") == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.problems.append("exception: %s" % d.get("exception", {}).get("description", d.get("text")))
        elif m.get("method") == "Log.entryAdded" and "Content Security Policy" in p["entry"].get("text", ""):
            self.problems.append("CSP: " + p["entry"]["text"])
        elif m.get("method") == "Runtime.consoleAPICalled" and p.get("type") == "error":
            self.problems.append("console.error: %s" % [a.get("value") for a in p.get("args", [])])

    def js(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            raise Failed("in the page, %s: %s" % (expr, r["exceptionDetails"].get("exception", {}).get("description")))
        return r["result"].get("value")

    def wait(self, expr, what, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            if self.js(expr):
                return check(True, what)
            time.sleep(0.2)
        raise Failed("%s (waited %d s for: %s)" % (what, timeout, expr))


def start_chromium(profile):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        raise Failed("no chromium on PATH")
    proc = subprocess.Popen([exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
                             "--user-data-dir=" + profile, "--no-first-run", "--window-size=1100,1500",
                             "--autoplay-policy=no-user-gesture-required", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(profile, "chromium.log"), "w"))
    port_file = os.path.join(profile, "DevToolsActivePort")
    for _ in range(300):
        if os.path.exists(port_file) and open(port_file).read().count("\n") >= 1:
            break
        if proc.poll() is not None:
            raise Failed("chromium exited with %d (see %s/chromium.log)" % (proc.returncode, profile))
        time.sleep(0.1)
    port = int(open(port_file).read().split("\n")[0])
    for t in json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10)):
        if t["type"] == "page":
            return proc, t["webSocketDebuggerUrl"]
    raise Failed("chromium has no page target")


# ---- a stand-in for POST /v1/announce, GET /v1/queue, DELETE /v1/queue/{id}, GET /v1/cache in their documented
# shapes; everything else goes to bark serve (optionally one path answered 404, to break the page) ----

def stand_in(upstream, key, broken):
    state = {"waiting": [], "next": 1, "deleted": [], "speech": []}
    up_host, up_port = upstream[len("http://"):].split(":")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, obj=None, body=b"", headers=()):
            if obj is not None:
                body, headers = json.dumps(obj).encode(), [("Content-Type", "application/json")]
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def handle_any(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?")[0]
            if path == broken:
                return self.reply(404, {"error": {"message": "broken on purpose", "code": "not_found"}})
            fake = path in ("/v1/announce", "/v1/queue", "/v1/cache") or path.startswith("/v1/queue/")
            if fake and key and self.headers.get("Authorization") != "Bearer " + key:
                return self.reply(401, {"error": {"message": "missing or wrong API key", "code": "invalid_api_key"}})
            if path == "/v1/announce" and self.command == "POST":
                a = json.loads(body)
                item = {"id": "a%d" % state["next"], "text": a["text"], "voice": a["voice"],
                        "priority": a["priority"], "state": "waiting"}
                state["next"] += 1
                state["waiting"].append(item)
                return self.reply(201, {"id": item["id"], "position": len(state["waiting"])})
            if path == "/v1/queue" and self.command == "GET":
                return self.reply(200, {"playing": None, "waiting": state["waiting"]})
            if path.startswith("/v1/queue/") and self.command == "DELETE":
                id_ = path[len("/v1/queue/"):]
                state["deleted"].append(id_)
                state["waiting"] = [w for w in state["waiting"] if w["id"] != id_]
                return self.reply(204)
            if path == "/v1/cache" and self.command == "GET":
                return self.reply(200, {"entries": [CACHED]})
            if path == "/v1/audio/speech":
                state["speech"].append(json.loads(body))
            c = http.client.HTTPConnection(up_host, int(up_port), timeout=180)
            c.request(self.command, self.path, body or None,
                      {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")})
            r = c.getresponse()
            data = r.read()
            keep = ("content-type", "content-security-policy", "x-content-type-options", "x-bark-seed", "allow")
            self.reply(r.status, body=data, headers=[(k, v) for k, v in r.getheaders() if k.lower() in keep])
            c.close()

        do_GET = do_POST = do_DELETE = do_HEAD = handle_any

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return "http://127.0.0.1:%d" % srv.server_address[1], state


def endpoint_exists(url, key, path):
    req = urllib.request.Request(url + path, headers={"Authorization": "Bearer " + key} if key else {})
    try:
        urllib.request.urlopen(req, timeout=10).read()
        return True
    except urllib.error.HTTPError as e:
        return e.code != 404


def run(url, key, state, screenshot, profile):
    print("== the page at %s/" % url, flush=True)
    try:
        r = urllib.request.urlopen(url + "/", timeout=10)
    except urllib.error.HTTPError as e:
        raise Failed("GET / answers %d" % e.code)
    csp = r.headers.get("Content-Security-Policy", "")
    check(r.status == 200 and r.headers.get("Content-Type") == "text/html; charset=utf-8", "GET / is 200 text/html")
    check("default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe" not in csp,
          "GET / carries a self-only Content-Security-Policy")
    hdr = {"Authorization": "Bearer " + key} if key else {}
    voices = json.load(urllib.request.urlopen(urllib.request.Request(url + "/v1/voices", headers=hdr)))["voices"]
    has_queue, has_cache = endpoint_exists(url, key, "/v1/queue"), endpoint_exists(url, key, "/v1/cache")
    print("   (the server has %d voices; queue endpoints: %s; cache endpoint: %s)"
          % (len(voices), "yes" if has_queue else "404", "yes" if has_cache else "404"), flush=True)

    proc, ws = start_chromium(profile)
    try:
        p = Page(ws)
        for domain in ("Page", "Runtime", "Log"):
            p.call(domain + ".enable")
        p.call("Page.navigate", url=url + "/")
        p.wait("document.readyState === 'complete' && typeof speak === 'function'", "the page and app.js loaded", 15)
        if key:
            p.wait("!document.getElementById('auth').hidden", "the page asks for the API key (401 without it)")
            p.js("document.getElementById('key').value = %s; document.getElementById('auth-form').requestSubmit()"
                 % json.dumps(key))
            p.wait("document.getElementById('auth').hidden", "the key form closes once the key is given")
        p.wait("document.querySelectorAll('#voice option[value]:not([value=\"\"])').length === %d" % len(voices),
               "the voice list holds the server's %d voices" % len(voices))
        p.js("document.getElementById('voice').value = %s" % json.dumps(VOICE))
        p.wait("document.getElementById('voice').value === %s" % json.dumps(VOICE), "voice %s chosen" % VOICE, 2)

        # play here
        p.js("document.getElementById('text').value = 'Hello from the operator page.';"
             "document.getElementById('play').click()")
        p.wait("document.getElementById('status').dataset.state !== 'busy' && "
               "document.getElementById('status').dataset.state !== 'idle'", "the speech request ended", 180)
        status = p.js("document.getElementById('status').textContent")
        check(p.js("document.getElementById('status').dataset.state") == "ok", "Play here: %s" % status)
        p.wait("document.getElementById('player').src.startsWith('blob:') && "
               "document.getElementById('player').readyState >= 1", "the <audio> element loaded a blob: URL")
        duration = p.js("document.getElementById('player').duration")
        said = float(status.split(" s of audio")[0])
        check(0 < duration < 1e6 and abs(duration - said) < 0.05,
              "the <audio> element's duration is %.2f s (the WAV says %.2f s)" % (duration, said))

        # announce, the queue, cancel
        p.js("document.getElementById('priority').value = 'high'; document.getElementById('announce').click()")
        p.wait("/Announcement|loudspeaker|failed/.test(document.getElementById('status').textContent)",
               "the announcement got an answer")
        status = p.js("document.getElementById('status').textContent")
        if has_queue:
            check("queued at position" in status, "announced: %s" % status)
            if state is not None:
                p.wait("document.querySelector('#queue-list tr[data-id=\"a1\"]') !== null",
                       "announcement a1 appears in the queue")
                check("high" in p.js("document.querySelector('#queue-list tr[data-id=\"a1\"]').textContent"),
                      "with its priority")
                p.js("document.querySelector('#queue-list tr[data-id=\"a1\"] button').click()")
                p.wait("document.querySelector('#queue-list tr[data-id=\"a1\"]') === null",
                       "its Cancel button removes it from the queue")
                check(state["deleted"] == ["a1"], "DELETE /v1/queue/a1 was sent")
                p.js("document.getElementById('announce').click()")
                p.wait("document.querySelector('#queue-list tr[data-id=\"a2\"]') !== null",
                       "a second announcement (a2) waits in the queue")
        else:
            check("no loudspeaker queue" in status and "404" in status, "announce on a server without: %s" % status)
            p.wait("/no loudspeaker queue.*404/.test(document.getElementById('queue-msg').textContent)",
                   "the queue section says the server has no queue")

        # the cache, and a cached item listened to
        if has_cache:
            p.wait("document.querySelectorAll('#cache-list tr').length > 0", "the cache table lists entries")
            before = p.js("document.getElementById('player').src")
            p.js("document.querySelector('#cache-list tr button').click()")
            p.wait("document.getElementById('player').src !== %s && "
                   "document.getElementById('status').dataset.state !== 'busy'" % json.dumps(before),
                   "Listen on a cached entry played it", 180)
            check(p.js("document.getElementById('status').dataset.state") == "ok",
                  "cached item: %s" % p.js("document.getElementById('status').textContent"))
            if state is not None:
                last = state["speech"][-1]
                check((last["input"], last["voice"], last["seed"]) == (CACHED["text"], CACHED["voice"], CACHED["seed"]),
                      "it asked for the entry's text, voice and seed %d" % CACHED["seed"])
        else:
            p.wait("/no cache.*404/.test(document.getElementById('cache-msg').textContent)",
                   "the cache section says the server has no cache")

        time.sleep(0.5)
        p.js("1")  # the events that came meanwhile
        check(not p.problems, "no script exception, console error or CSP violation %s" % (p.problems or ""))
        shot = p.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print("   screenshot: %s" % screenshot, flush=True)
    finally:
        proc.terminate()
        proc.wait(10)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", required=True, help="bark serve's base URL")
    ap.add_argument("--key", default="", help="its API key")
    ap.add_argument("--stand-in", action="store_true", help="fake the queue and cache endpoints in front of it")
    ap.add_argument("--break", dest="broken", help="answer this path 404 (the run must then fail)")
    ap.add_argument("--screenshot", required=True)
    a = ap.parse_args()
    url, state = a.url, None
    if a.stand_in or a.broken:
        url, state = stand_in(a.url, a.key, a.broken)
        state = state if a.stand_in else None
    profile = tempfile.mkdtemp(prefix="bark-page-chromium-")
    try:
        run(url, a.key, state, a.screenshot, profile)
    except Failed as e:
        print("   FAILED: %s" % e, flush=True)
        return 1
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    print("page_browser: all passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
