#!/usr/bin/env bash
# test_seed_servers.sh - the seed's servers under greenrun: StreamServer,
# the WSGI page under ab, chunked streaming, long polling, websockets and the
# chat room, each an ordinary thread-per-connection C server.
#
# Every server runs under scripts/greenrun and prints "listening on PORT"
# (port 0, 127.0.0.1); the clients (nc, ab, curl, python3, chromium) run
# natively. While clients are connected the server's /proc/PID/status is
# sampled every 0.1 s, and every sample must say Threads: 1. Checked:
#   - seed_server (StreamServer): `nc -N` reads "Hello from a telnet!" and
#     0 to 4, for one client and for 50 at once;
#   - seed_http "/": `ab -n 10000 -c 100` completes 10000 requests, none
#     failed, none non-2xx; again with -k, all 10000 on kept-alive
#     connections;
#   - seed_http "/stream": the raw body is the two chunks of the seed
#     ("8\r\n<p>Hello\r\n9\r\nWorld</p>\r\n0\r\n\r\n") under Transfer-Encoding:
#     chunked; the first byte arrives at least 0.4 s before the end (the
#     chunks are sent as produced, 0.3 s apart); 20 streams at once take
#     less than 3 s (one after another: 12 s);
#   - seed_http "/poll" (a fresh server, so that few items are queued): 100
#     parallel requests against a producer putting one item every 0.1 s
#     with a 0.5 s queue timeout: every answer is an item or a timeout ([]),
#     both kinds occur, no item goes to two clients, every timeout came
#     after >= 0.45 s and every answer within 3 s;
#   - seed_ws: 5 python3 websocket clients (raw sockets: handshake, frame
#     parsing) each get a 101 with the right Sec-WebSocket-Accept, four text
#     frames x = 0..3 with y in 1..5, 0.3 s to 1.5 s apart (0.5 s as sent),
#     and an answer to their close frame with status 1000;
#   - seed_chat: two headless Chromium pages join room topic1 as alice and
#     bob, each posts a message and waits for the other's; each page's DOM
#     (--dump-dom) says it saw the other's message; the server's log shows
#     both joins and both puts. Bob's page is kept as a screenshot in
#     build/artefacts/seed_chat.png.
# Builds nothing: run `make` first. Output is TAP-like; the exit status is
# non-zero if any check failed.
set -u -o pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || exit 2
# shellcheck source=tests/integration/tap.sh
. "$ROOT/tests/integration/tap.sh"
gr_traps

PROGS=$ROOT/build/progs
GREENRUN=$ROOT/scripts/greenrun
ARTEFACTS=$ROOT/build/artefacts
STEP_LIMIT=90               # seconds, for any one group of clients

# sample_pids LABEL SPID PID...: samples SPID's Threads: every 0.1 s while any
# of the PIDs (started by the caller, in GR_PIDS) runs, and stops them after
# STEP_LIMIT s. Sets SAMPLES and THREADS ("min/max", or "none").
sample_pids() {
	local label=$1 spid=$2 pid alive deadline min='' max=''
	shift 2
	SAMPLES=0
	deadline=$((SECONDS + STEP_LIMIT))
	while :; do
		alive=0
		for pid; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		((alive)) || break
		if gr_status "$spid"; then
			SAMPLES=$((SAMPLES + 1))
			gr_min min "$ST_THREADS"
			gr_max max "$ST_THREADS"
		fi
		if ((SECONDS >= deadline)); then
			comment "$label: still running after $STEP_LIMIT s, stopping it"
			for pid; do
				gr_stop_pid "$pid"
			done
			break
		fi
		sleep 0.1
	done
	THREADS=${min:-none}/${max:-none}
}

# sample_while LABEL SPID CMD...: runs CMD (output in $GR_TMP/LABEL.out and
# .err) with sample_pids. Sets RUN_RC (CMD's status) too.
sample_while() {
	local label=$1 spid=$2 pid
	shift 2
	"$@" </dev/null >"$GR_TMP/$label.out" 2>"$GR_TMP/$label.err" &
	pid=$!
	GR_PIDS+=("$pid")
	sample_pids "$label" "$spid" "$pid"
	wait "$pid"
	RUN_RC=$?
	gr_forget_pid "$pid"
}

# threads_one LABEL: the Threads: check for the last sample_while.
threads_one() {
	comment "$1: $SAMPLES samples, Threads: min/max $THREADS"
	check "$1: Threads: 1 in every one of $SAMPLES samples (>= 1)" \
		eq "$((SAMPLES > 0))/$THREADS" 1/1/1
}

# start NAME PROG: PROG under greenrun; sets SERVER_PID, SERVER_PORT, URL.
start() {
	if gr_start_server "$1" "$GREENRUN" "$PROGS/$2"; then
		URL=http://127.0.0.1:$SERVER_PORT
		check "$1: $2 listening under greenrun" true
	else
		check "$1: $2 listening under greenrun" false
		return 1
	fi
}

show_err() {
	[[ -s $GR_TMP/$1.err ]] && head -n 10 "$GR_TMP/$1.err" | sed "s/^/# $1 stderr: /"
	return 0
}

# a b c: true if the decimal a + b <= c.
sum_le() { awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN { exit !(a + b <= c) }'; }
dec_ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
dec_lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# ---- StreamServer ----

nc_clients() {
	local i
	for ((i = 1; i <= $1; i++)); do
		timeout -k 2 10 nc -N 127.0.0.1 "$SERVER_PORT" </dev/null >"$GR_TMP/nc.$i" &
	done
	wait
}

stream_server() {
	local i same=0
	start stream seed_server || return
	printf 'Hello from a telnet!\n0\n1\n2\n3\n4\n' >"$GR_TMP/greeting"
	timeout -k 2 10 nc -N 127.0.0.1 "$SERVER_PORT" </dev/null >"$GR_TMP/nc.one"
	check "stream: nc reads the greeting and 0 to 4" cmp -s "$GR_TMP/greeting" "$GR_TMP/nc.one"
	sample_while nc50 "$SERVER_PID" nc_clients 50
	for ((i = 1; i <= 50; i++)); do
		cmp -s "$GR_TMP/greeting" "$GR_TMP/nc.$i" && same=$((same + 1))
	done
	check "stream: 50 nc clients at once, each reads the same ($same of 50)" eq "$same" 50
	threads_one stream
	gr_stop_pid "$SERVER_PID"
}

# ---- WSGI page under ab, chunked streaming ----

ab_field() { sed -n "s/^$1: *\([0-9]*\).*/\1/p" "$GR_TMP/$2.out"; }

http_server() {
	local times first total start_ns ms good=0 i
	start http seed_http || return
	check "http: GET / is the seed's page" \
		eq "$(timeout 10 curl -s "$URL/")" '<p>Hello World</p>'

	sample_while ab "$SERVER_PID" timeout -k 5 120 ab -q -n 10000 -c 100 "$URL/"
	show_err ab
	grep -E '^(Complete|Failed|Non-2xx|Time taken|Requests per)' "$GR_TMP/ab.out" | sed 's/^/# ab: /'
	check "http: ab -n 10000 -c 100 exits 0" eq "$RUN_RC" 0
	check "http: ab completes 10000 requests" eq "$(ab_field 'Complete requests' ab)" 10000
	check "http: ab: 0 failed requests" eq "$(ab_field 'Failed requests' ab)" 0
	check "http: ab: no non-2xx response" eq "$(ab_field 'Non-2xx responses' ab)" ''
	threads_one "http ab"

	sample_while abk "$SERVER_PID" timeout -k 5 120 ab -q -k -n 10000 -c 100 "$URL/"
	show_err abk
	grep -E '^(Complete|Failed|Keep-Alive|Requests per)' "$GR_TMP/abk.out" | sed 's/^/# ab -k: /'
	check "http: ab -k: 10000 requests, 0 failed, all on kept-alive connections" \
		eq "$(ab_field 'Complete requests' abk)/$(ab_field 'Failed requests' abk)/$(ab_field 'Keep-Alive requests' abk)" \
		10000/0/10000
	threads_one "http ab -k"

	times=$(timeout 10 curl -s --raw -D "$GR_TMP/stream.head" -o "$GR_TMP/stream.raw" \
		-w '%{time_starttransfer} %{time_total}' "$URL/stream")
	read -r first total <<<"$times"
	comment "stream: first byte after $first s, end after $total s"
	check "stream: Transfer-Encoding: chunked" grep -qi '^Transfer-Encoding: chunked' "$GR_TMP/stream.head"
	check "stream: the seed's two chunks, then the last" \
		cmp -s "$GR_TMP/stream.raw" <(printf '8\r\n<p>Hello\r\n9\r\nWorld</p>\r\n0\r\n\r\n')
	check "stream: the first chunk came >= 0.4 s before the end" sum_le "$first" 0.4 "$total"

	start_ns=$(date +%s%N)
	timeout -k 2 30 curl -s --no-progress-meter -Z --parallel-max 20 "$URL/stream?c=[1-20]" -o "$GR_TMP/par_#1"
	ms=$((($(date +%s%N) - start_ns) / 1000000))
	for ((i = 1; i <= 20; i++)); do
		[[ $(<"$GR_TMP/par_$i") == '<p>HelloWorld</p>' ]] && good=$((good + 1))
	done
	comment "stream: 20 parallel streams took $ms ms"
	check "stream: 20 parallel streams each read <p>HelloWorld</p> ($good of 20)" eq "$good" 20
	check "stream: 20 parallel streams took < 3 s (one after another: 12 s)" lt "$ms" 3000
	gr_stop_pid "$SERVER_PID"
}

# ---- long polling ----

long_poll() {
	local url secs code n body data=0 timeouts=0 bad=0 slow=0 early=0
	start poll seed_http || return
	sample_while poll "$SERVER_PID" timeout -k 2 30 curl -s --no-progress-meter -Z --parallel-max 100 \
		-w '%{url} %{time_total} %{http_code}\n' "$URL/poll?c=[1-100]" -o "$GR_TMP/poll_#1"
	show_err poll
	while read -r url secs code; do
		n=${url##*=}
		body=$(<"$GR_TMP/poll_$n")
		if [[ $code == 200 && $body =~ ^\"Hello\ World\ [0-9]+\"$ ]]; then
			data=$((data + 1))
			echo "$body" >>"$GR_TMP/items"
		elif [[ $code == 200 && $body == '[]' ]]; then
			timeouts=$((timeouts + 1))
			dec_ge "$secs" 0.45 || early=$((early + 1))
		else
			bad=$((bad + 1))
		fi
		dec_lt "$secs" 3 || slow=$((slow + 1))
	done <"$GR_TMP/poll.out"
	comment "poll: $data items, $timeouts timeouts, $bad others"
	check "poll: 100 answers, each an item or [] (got $((data + timeouts)), $bad others)" \
		eq "$((data + timeouts))/$bad" 100/0
	check "poll: some clients got an item, some timed out" eq "$((data > 0))/$((timeouts > 0))" 1/1
	check "poll: no item went to two clients" \
		eq "$(sort "$GR_TMP/items" 2>/dev/null | uniq -d | wc -l)" 0
	check "poll: every timeout after >= 0.45 s ($early earlier)" eq "$early" 0
	check "poll: every answer within 3 s ($slow later)" eq "$slow" 0
	threads_one poll
	gr_stop_pid "$SERVER_PID"
}

# ---- websockets ----

write_ws_client() {
	cat >"$GR_TMP/ws_client.py" <<'EOF'
# RFC 6455 client on raw sockets: CLIENTS connections at once, FRAMES frames each.
import base64, hashlib, json, os, socket, sys, time
port, clients, frames = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("connection closed")
        b += c
    return b

def read_frame(s):
    h = recv_exact(s, 2)
    n = h[1] & 0x7f
    if n == 126:
        n = int.from_bytes(recv_exact(s, 2), "big")
    elif n == 127:
        n = int.from_bytes(recv_exact(s, 8), "big")
    if h[1] & 0x80:
        raise ValueError("server frame is masked")
    return h[0], recv_exact(s, n)

socks = []
for i in range(clients):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (port, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += recv_exact(s, 1)
    lines = head.decode().split("\r\n")
    fields = dict((l.split(":", 1)[0].lower(), l.split(":", 1)[1].strip())
                  for l in lines[1:] if ":" in l)
    want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    print("handshake %d: %s, accept key %s" % (
        i, lines[0], "right" if fields.get("sec-websocket-accept") == want else "wrong"))
    socks.append(s)
got = [[] for _ in socks]
for k in range(frames):
    for i, s in enumerate(socks):
        op, data = read_frame(s)
        got[i].append((op, json.loads(data), time.monotonic()))
for i, g in enumerate(got):
    # From the second frame on: the first was sent during the handshakes.
    gaps = [b[2] - a[2] for a, b in zip(g[1:], g[2:])]
    print("client %d: opcodes %s, x %s, y in 1..5: %s, 0.3 s to 1.5 s apart: %s" % (
        i, sorted(set(op for op, _, _ in g)), [d["x"] for _, d, _ in g],
        "yes" if all(1 <= d["y"] <= 5 for _, d, _ in g) else "no",
        "yes" if 0.3 <= min(gaps) and max(gaps) < 1.5 else "no"))
for i, s in enumerate(socks):
    mask = os.urandom(4)
    status = (1000).to_bytes(2, "big")
    s.sendall(bytes([0x88, 0x82]) + mask + bytes(b ^ mask[j] for j, b in enumerate(status)))
    while True:
        op, data = read_frame(s)
        if op & 0x0f == 8:
            break
    print("client %d: close answered with status %d" % (i, int.from_bytes(data[:2], "big")))
    s.close()
EOF
}

websockets() {
	local i want=''
	start ws seed_ws || return
	write_ws_client
	sample_while ws "$SERVER_PID" timeout -k 2 30 python3 "$GR_TMP/ws_client.py" "$SERVER_PORT" 5 4
	sed 's/^/# ws: /' "$GR_TMP/ws.out"
	show_err ws
	for ((i = 0; i < 5; i++)); do
		want+="handshake $i: HTTP/1.1 101 Switching Protocols, accept key right"$'\n'
	done
	for ((i = 0; i < 5; i++)); do
		want+="client $i: opcodes [129], x [0, 1, 2, 3], y in 1..5: yes, 0.3 s to 1.5 s apart: yes"$'\n'
	done
	for ((i = 0; i < 5; i++)); do
		want+="client $i: close answered with status 1000"$'\n'
	done
	check "ws: python client exits 0" eq "$RUN_RC" 0
	check "ws: 5 clients: handshake (SHA-1, base64), 4 frames each every 0.5 s, close" \
		eq "$(<"$GR_TMP/ws.out")" "${want%$'\n'}"
	threads_one ws
	gr_stop_pid "$SERVER_PID"
}

# ---- the chat room, in two headless Chromium pages ----

# chromium_page NAME URL ARGS...: headless Chromium dumping the DOM of URL
# into $GR_TMP/NAME.dom. timeout stops it (with its process group: the
# renderer and GPU processes) if it hangs; the caller backgrounds it and
# stops timeout's PID if it must.
chromium_page() {
	local name=$1 url=$2
	shift 2
	exec timeout -k 5 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
		--no-first-run --no-default-browser-check --disable-extensions \
		--disable-background-networking --disable-component-update \
		--user-data-dir="$GR_TMP/chromium-$name" --virtual-time-budget=20000 \
		"$@" --dump-dom "$url" </dev/null >"$GR_TMP/$name.dom" 2>"$GR_TMP/$name.chromium.err"
}

chat() {
	local who peer pid pids
	if ! command -v chromium >/dev/null; then
		skip "chat: chromium is not installed"
		return
	fi
	start chat seed_chat || return
	mkdir -p "$ARTEFACTS"
	rm -f "$ARTEFACTS/seed_chat.png"
	chromium_page alice "$URL/topic1/alice?say=hello+from+alice&expect=bob" &
	pids=("$!")
	chromium_page bob "$URL/topic1/bob?say=hello+from+bob&expect=alice" \
		--window-size=800,600 --screenshot="$ARTEFACTS/seed_chat.png" &
	pids+=("$!")
	GR_PIDS+=("${pids[@]}")
	sample_pids chat "$SERVER_PID" "${pids[@]}"
	for pid in "${pids[@]}"; do
		wait "$pid"
		gr_forget_pid "$pid"
	done
	sed 's/^/# chat server: /' "$SERVER_OUT"
	for who in alice bob; do
		peer=alice
		[[ $who == alice ]] && peer=bob
		grep -o '<p id="status">[^<]*' "$GR_TMP/$who.dom" | sed "s/^/# $who page: /"
		check "chat: $who's page saw $peer's message" \
			grep -q "<p id=\"status\">$who saw $peer:hello from $peer<" "$GR_TMP/$who.dom"
		check "chat: the server saw $who join and put" \
			eq "$(grep -cxE "join topic1 $who, backlog [01]|put topic1 $who:hello from $who" "$SERVER_OUT")" 2
	done
	check "chat: screenshot kept in build/artefacts/seed_chat.png" test -s "$ARTEFACTS/seed_chat.png"
	threads_one chat
	gr_stop_pid "$SERVER_PID"
}

main() {
	tap_require "$PROGS"/seed_{server,http,ws,chat}
	gr_tmpdir || exit 2
	stream_server
	http_server
	long_poll
	websockets
	chat
	tap_end
}

main
