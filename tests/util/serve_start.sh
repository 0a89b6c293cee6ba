# serve_start.sh: sourced by the shell tests and benches that drive `bark serve` over loopback. Needs BARK (the
# binary) and DIR (a scratch folder). free_port prints a free TCP port; serve_start ARGS... starts "$BARK" serve ARGS
# on a free loopback port (retried if the port was taken meanwhile), waits (bounded) until it answers HTTP, and sets
# PORT, PID and URL; its stderr goes to $DIR/server.log. Returns 1, with the log shown, when it did not start.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

serve_start() {
    local attempt
    for attempt in 1 2 3; do
        PORT=$(free_port)
        "$BARK" serve --port "$PORT" "$@" 2> "$DIR/server.log" &
        PID=$!
        for _ in $(seq 300); do
            curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/health" && break
            kill -0 "$PID" 2> /dev/null || break
            sleep 0.1
        done
        if kill -0 "$PID" 2> /dev/null; then
            URL=http://127.0.0.1:$PORT
            return 0
        fi
        wait "$PID" || true
        PID=""
    done
    cat "$DIR/server.log" >&2
    echo "the server did not start" >&2
    return 1
}
