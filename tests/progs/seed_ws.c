/* seed_ws.c - the seed's websocket server: random data pushed to each
 * client every 0.5 s.
 *
 * gevent's version is a pywsgi server with gevent-websocket's handler: for
 * each websocket a greenlet loops forever sending {"x": x, "y": random 1..5}
 * with x counting from 0, then gevent.sleep(0.5). The seed's HTML page
 * connects with `new WebSocket(...)` and appends each message to the page.
 *
 * The C port is a thread-per-connection server speaking RFC 6455 itself:
 * it reads the HTTP upgrade request, answers 101 with Sec-WebSocket-Accept
 * = base64(SHA-1(key + the RFC's GUID)) (both written below), then sends
 * one unmasked text frame every 0.5 s. Between frames it waits with poll for
 * what the client sends: a close frame is answered with a close frame and
 * ends the connection, as RFC 6455 5.5.1 asks. A plain GET (no Upgrade)
 * gets the seed's page, which connects back to the same port. Under greenrun
 * every connection's thread, its sends and its poll are cooperative: one OS
 * thread serves every client.
 *
 * Usage: seed_ws [PORT] (0 or absent: an ephemeral port); it listens on
 * 127.0.0.1, prints "listening on PORT" and serves until killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "seed.h"

#define PUSH_EVERY_MS 500

/* ---- SHA-1 (FIPS 180-4) and base64 (RFC 4648), for the handshake ---- */

static uint32_t rol(uint32_t x, int n) { return x << n | x >> (32 - n); }

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    for (int i = 0; i < 80; i++) {
        uint32_t f, k, t;

        if (i < 20)
            f = (b & c) | (~b & d), k = 0x5a827999;
        else if (i < 40)
            f = b ^ c ^ d, k = 0x6ed9eba1;
        else if (i < 60)
            f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
        else
            f = b ^ c ^ d, k = 0xca62c1d6;
        t = rol(a, 5) + f + e + k + w[i];
        e = d, d = c, c = rol(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

static void sha1(const void *data, size_t len, unsigned char out[20])
{
    uint32_t h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 };
    const unsigned char *p = data;
    unsigned char tail[128] = { 0 };
    size_t rest = len % 64, tail_len = rest < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;

    for (size_t i = 0; i + 64 <= len; i += 64)
        sha1_block(h, p + i);
    memcpy(tail, p + len - rest, rest);
    tail[rest] = 0x80;
    for (int i = 0; i < 8; i++)
        tail[tail_len - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (size_t i = 0; i < tail_len; i += 64)
        sha1_block(h, tail + i);
    for (int i = 0; i < 20; i++)
        out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
}

static void base64(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < len ? in[i + 2] : 0);

        *out++ = digits[v >> 18 & 63];
        *out++ = digits[v >> 12 & 63];
        *out++ = i + 1 < len ? digits[v >> 6 & 63] : '=';
        *out++ = i + 2 < len ? digits[v & 63] : '=';
    }
    *out = '\0';
}

/* ---- the server ---- */

static const char page[] =
    "<html><head><title>Minimal websocket application</title>\n"
    "<script>\n"
    "window.onload = function() {\n"
    "  var ws = new WebSocket('ws://' + location.host + '/');\n"
    "  var status = document.getElementById('conn_status');\n"
    "  ws.onmessage = function(evt) {\n"
    "    var p = document.createElement('p'); p.textContent = evt.data;\n"
    "    document.getElementById('placeholder').appendChild(p);\n"
    "  };\n"
    "  ws.onopen = function() { status.innerHTML = '<b>Connected</b>'; };\n"
    "  ws.onerror = function() { status.innerHTML = '<b>Error</b>'; };\n"
    "  ws.onclose = function() { status.innerHTML = '<b>Closed</b>'; };\n"
    "};\n"
    "</script></head>\n<body><h1>WebSocket Example</h1>\n"
    "<div id=\"conn_status\">Not Connected</div>\n"
    "<div id=\"placeholder\" style=\"width:600px;height:300px;\"></div>\n"
    "</body></html>\n";

/* An unmasked frame from the server, FIN set, payload under 126 bytes. */
static int send_frame(int fd, int opcode, const void *payload, size_t len)
{
    unsigned char frame[2 + 125];

    frame[0] = (unsigned char)(0x80 | opcode);
    frame[1] = (unsigned char)len;
    memcpy(frame + 2, payload, len);
    return send_all(fd, frame, 2 + len);
}

/* The value of header NAME in the request head, copied into out. */
static int header(const char *head, const char *name, char *out, size_t size)
{
    size_t len = strlen(name);

    for (const char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, name, len) == 0 && line[2 + len] == ':') {
            const char *v = line + 3 + len, *eol;

            v += strspn(v, " \t");
            eol = strstr(v, "\r\n");
            if (!eol || (size_t)(eol - v) >= size)
                return -1;
            memcpy(out, v, (size_t)(eol - v));
            out[eol - v] = '\0';
            return 0;
        }
    }
    return -1;
}

/* Pushes {"x": x, "y": 1..5} every PUSH_EVERY_MS until the client closes. */
static void websocket(int fd, unsigned seed)
{
    unsigned char in[256];

    for (int x = 0;; x++) {
        char data[64];
        int n = snprintf(data, sizeof(data), "{\"x\": %d, \"y\": %d}", x,
                         1 + rand_r(&seed) % 5);
        struct pollfd p = { .fd = fd, .events = POLLIN };

        if (send_frame(fd, 0x1, data, (size_t)n) != 0)
            return;
        if (poll(&p, 1, PUSH_EVERY_MS) == 0)
            continue;
        /* The client spoke: the seed's clients only ever close. A close
         * frame (opcode 8) is echoed with its status code; EOF ends too. */
        n = (int)recv(fd, in, sizeof(in), 0);
        if (n <= 0)
            return;
        if (n >= 2 && (in[0] & 0x0f) == 0x8) {
            unsigned char status[2] = { 0x03, 0xe8 };      /* 1000: normal */

            if ((in[1] & 0x7f) >= 2 && (in[1] & 0x80) && n >= 8) {
                status[0] = in[6] ^ in[2];
                status[1] = in[7] ^ in[3];
            }
            send_frame(fd, 0x8, status, 2);
            return;
        }
    }
}

static void *connection(void *arg)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    int fd = (int)(intptr_t)arg;
    char head[4096], key[128], keyguid[256], accept_key[32], reply[512];
    unsigned char digest[20];
    size_t have = 0;
    ssize_t n;

    while (have < sizeof(head) - 1 && (head[have] = '\0', !strstr(head, "\r\n\r\n"))) {
        n = recv(fd, head + have, sizeof(head) - 1 - have, 0);
        if (n <= 0)
            goto out;
        have += (size_t)n;
    }
    head[have] = '\0';
    if (header(head, "Sec-WebSocket-Key", key, sizeof(key)) != 0) {
        n = snprintf(reply, sizeof(reply),
                     "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n", sizeof(page) - 1);
        if (send_all(fd, reply, (size_t)n) == 0)
            send_all(fd, page, sizeof(page) - 1);
        goto out;
    }
    n = snprintf(keyguid, sizeof(keyguid), "%s%s", key, guid);
    sha1(keyguid, (size_t)n, digest);
    base64(digest, sizeof(digest), accept_key);
    n = snprintf(reply, sizeof(reply),
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept_key);
    if (send_all(fd, reply, (size_t)n) == 0)
        websocket(fd, (unsigned)time(NULL) ^ (unsigned)fd);
out:
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    serve_forever(listen_from_args(argc, argv), connection);
}
