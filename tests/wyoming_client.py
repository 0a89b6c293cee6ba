#!/usr/bin/env python3
"""wyoming_client.py: the `wyoming` package's AsyncTcpClient against `bark serve --wyoming`: describe, synthesize
(one audio-start, chunks of 24 kHz 16-bit mono, one audio-stop), the streamed synthesize, an unknown event; prints
the time to the first audio-chunk. Exits non-zero on the first thing wrong."""
import argparse
import asyncio
import sys
import time

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import (Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped,
                         SynthesizeVoice)

TIMEOUT = 120  # seconds any one event may take


def check(cond, what):
    if not cond:
        print(f"wyoming_client: FAILED: {what}")
        sys.exit(1)


async def read(client):
    ev = await asyncio.wait_for(client.read_event(), TIMEOUT)
    check(ev is not None, "the server closed the connection")
    return ev


async def audio(client, t0):
    """One audio-start, audio-chunks, one audio-stop: (samples, chunks, seconds to the first chunk)."""
    ev = await read(client)
    check(AudioStart.is_type(ev.type), f"wanted audio-start, got {ev.type} {ev.data}")
    start = AudioStart.from_event(ev)
    check((start.rate, start.width, start.channels) == (24000, 2, 1), f"audio-start format {start}")
    samples = chunks = 0
    first = None
    while True:
        ev = await read(client)
        if AudioStop.is_type(ev.type):
            break
        check(AudioChunk.is_type(ev.type), f"wanted audio-chunk or audio-stop, got {ev.type} {ev.data}")
        chunk = AudioChunk.from_event(ev)
        check((chunk.rate, chunk.width, chunk.channels) == (24000, 2, 1), f"audio-chunk format {chunk.rate}")
        check(len(chunk.audio) > 0 and len(chunk.audio) % 2 == 0, "an empty or odd audio-chunk")
        if first is None:
            first = time.monotonic() - t0
        samples += chunk.samples
        chunks += 1
    check(chunks > 0 and samples > 0, "no audio before audio-stop")
    return samples, chunks, first


async def main(port, text, ttfa_only):
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Describe().event())
        ev = await read(client)
        check(Info.is_type(ev.type), f"wanted info, got {ev.type}")
        info = Info.from_event(ev)
        check(len(info.tts) == 1, "not one tts program")
        tts = info.tts[0]
        check(tts.installed and tts.supports_synthesize_streaming, "tts not installed or not streaming")
        check(tts.voices and all(v.installed for v in tts.voices), "no voices")
        names = [v.name for v in tts.voices]
        voice = "v2/en_speaker_6" if "v2/en_speaker_6" in names else names[0]
        print(f"describe: {tts.name} {tts.version}, {len(names)} voices ({', '.join(names[:3])}, ...), "
              f"languages {sorted({l for v in tts.voices for l in v.languages})}")

        t0 = time.monotonic()
        await client.write_event(Synthesize(text=text, voice=SynthesizeVoice(name=voice)).event())
        samples, chunks, first = await audio(client, t0)
        print(f"synthesize {text!r}: {samples} samples ({samples / 24000:.2f} s) in {chunks} chunks; "
              f"time to first audio-chunk {first:.3f} s, all {time.monotonic() - t0:.3f} s")
        if ttfa_only:
            return
        t0 = time.monotonic()
        await client.write_event(Synthesize(text=text, voice=SynthesizeVoice(name=voice)).event())
        again, _, first = await audio(client, t0)
        check(again == samples, "the same text again differs in length")
        print(f"synthesize again (cached): time to first audio-chunk {first:.3f} s")

        t0 = time.monotonic()
        await client.write_event(SynthesizeStart(voice=SynthesizeVoice(language="en")).event())
        for part in ("The first sentence. The sec", "ond one, ", "and its end"):
            await client.write_event(SynthesizeChunk(text=part).event())
        await client.write_event(Synthesize(text="The first sentence. The second one, and its end").event())
        await client.write_event(SynthesizeStop().event())
        sentences = 0
        first = None
        while True:
            s, _, f = await audio(client, t0)
            first = f if first is None else first
            sentences += 1
            ev = await read(client) if sentences == 2 else None
            if ev is not None:
                check(SynthesizeStopped.is_type(ev.type), f"wanted synthesize-stopped, got {ev.type}")
                break
        print(f"streamed: {sentences} sentences, each audio-start/chunks/audio-stop, then synthesize-stopped; "
              f"time to first audio-chunk {first:.3f} s")

        await client.write_event(Event(type="no-such-event"))
        ev = await read(client)
        check(Error.is_type(ev.type), f"wanted error, got {ev.type}")
        print(f"unknown event: error {Error.from_event(ev).code}: {Error.from_event(ev).text}")
        await client.write_event(Describe().event())
        check(Info.is_type((await read(client)).type), "no info after an error")
        print("wyoming_client: ok")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--text", default="Hello there, the lights are on.")
    ap.add_argument("--ttfa-only", action="store_true")
    a = ap.parse_args()
    asyncio.run(main(a.port, a.text, a.ttfa_only))
