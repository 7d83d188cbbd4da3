/* seed_chat.c - the seed's chat room: rooms, a backlog and long polling over
 * HTTP, from one thread-per-connection server.
 *
 * gevent's version is a Flask application under pywsgi (minichat): rooms
 * "topic1" and "topic2", each with its subscribers and its messages; users
 * each with a gevent.queue.Queue. GET /<room>/<uid> subscribes the user and
 * renders the room with its backlog (the last 25 messages); POST
 * /put/<room>/<uid> (form field "message") puts "uid:message" on every
 * subscriber's queue and in the backlog; POST /poll/<uid> waits on the user's
 * queue for at most 10 s and answers the message as JSON, or [] on timeout.
 * The page's JavaScript posts what the user types and keeps one poll open.
 * Every request is a greenlet; the waiting polls cost nothing.
 *
 * The C port serves the same routes and pages itself (GET / to choose a
 * name, GET /<uid> to choose a room), one detached pthread per connection,
 * HTTP/1.1 keep-alive as browsers use it. The queues are mutex+condvar
 * queues and a poll waits with pthread_cond_timedwait for 1 s (the seed's
 * 10 s, shortened). Under greenrun every connection's thread and every wait
 * is green: one OS thread serves all the browsers' connections.
 *
 * The room page also takes two optional query parameters, so that a
 * headless browser can chat without anyone typing: ?say=TEXT posts TEXT
 * once the page is loaded, and &expect=UID stops polling once a message from
 * UID (from the backlog or from a poll) and the page's own message (from a
 * poll) are both on the page, and says so in the page's "status" line. The
 * server logs each join, put and poll answer on stdout.
 *
 * Usage: seed_chat [PORT] (0 or absent: an ephemeral port); it listens on
 * 127.0.0.1, prints "listening on PORT" and serves until killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "seed.h"

#define MAX_USERS 64
#define MAX_MESSAGES 1024
#define BACKLOG 25
#define MSG_SIZE 256
#define POLL_TIMEOUT_S 1

struct message {
    struct message *next;
    char text[MSG_SIZE];
};

struct user {
    char uid[32];
    pthread_cond_t arrived;
    struct message *head, **tail;       /* the user's queue */
};

struct room {
    const char *name;
    struct user *subscribers[MAX_USERS];
    int nsubscribers;
    char messages[MAX_MESSAGES][MSG_SIZE];
    int nmessages;
};

/* One lock for the rooms, the users and their queues. */
static pthread_mutex_t chat_lock = PTHREAD_MUTEX_INITIALIZER;
static struct room rooms[] = { { .name = "topic1" }, { .name = "topic2" } };
static struct user users[MAX_USERS];
static int nusers;

static void chat_log(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static struct room *find_room(const char *name)
{
    for (size_t i = 0; i < sizeof(rooms) / sizeof(rooms[0]); i++)
        if (strcmp(rooms[i].name, name) == 0)
            return &rooms[i];
    return NULL;
}

/* Called with chat_lock held; creates the user when create is set. */
static struct user *find_user(const char *uid, int create)
{
    for (int i = 0; i < nusers; i++)
        if (strcmp(users[i].uid, uid) == 0)
            return &users[i];
    if (!create || nusers == MAX_USERS)
        return NULL;
    struct user *u = &users[nusers++];
    snprintf(u->uid, sizeof(u->uid), "%s", uid);
    pthread_cond_init(&u->arrived, NULL);
    u->tail = &u->head;
    return u;
}

/* Room.subscribe: a set, so joining twice subscribes once. */
static void subscribe(struct room *r, struct user *u)
{
    for (int i = 0; i < r->nsubscribers; i++)
        if (r->subscribers[i] == u)
            return;
    if (r->nsubscribers < MAX_USERS)
        r->subscribers[r->nsubscribers++] = u;
}

/* Room.add: onto every subscriber's queue, then into the backlog. */
static void room_add(struct room *r, const char *text)
{
    for (int i = 0; i < r->nsubscribers; i++) {
        struct user *u = r->subscribers[i];
        struct message *m = calloc(1, sizeof(*m));

        if (!m)
            continue;
        snprintf(m->text, sizeof(m->text), "%s", text);
        *u->tail = m;
        u->tail = &m->next;
        pthread_cond_signal(&u->arrived);
    }
    if (r->nmessages == MAX_MESSAGES) {
        memmove(r->messages[0], r->messages[1], (MAX_MESSAGES - 1) * MSG_SIZE);
        r->nmessages--;
    }
    snprintf(r->messages[r->nmessages++], MSG_SIZE, "%s", text);
}

/* users[uid].queue.get(timeout=POLL_TIMEOUT_S); NULL on timeout. */
static struct message *user_get(struct user *u)
{
    struct timespec deadline;
    struct message *m;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += POLL_TIMEOUT_S;
    while (!u->head && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&u->arrived, &chat_lock, &deadline);
    m = u->head;
    if (m) {
        u->head = m->next;
        if (!u->head)
            u->tail = &u->head;
    }
    return m;
}

/* ---- text helpers ---- */

/* Appends src to the buffer at *pos (size total), escaped for HTML or for a
 * JSON string; truncates silently at the end of the buffer. */
static void put_escaped(char *buf, size_t size, size_t *pos, const char *src, int json)
{
    for (; *src && *pos + 8 < size; src++) {
        unsigned char c = (unsigned char)*src;
        const char *rep = NULL;
        char hex[8];

        if (json && (c == '"' || c == '\\'))
            snprintf(hex, sizeof(hex), "\\%c", c), rep = hex;
        else if (json && c < 0x20)
            snprintf(hex, sizeof(hex), "\\u%04x", c), rep = hex;
        else if (!json && c == '<')
            rep = "&lt;";
        else if (!json && c == '>')
            rep = "&gt;";
        else if (!json && c == '&')
            rep = "&amp;";
        else if (!json && c == '"')
            rep = "&quot;";
        if (rep)
            *pos += (size_t)snprintf(buf + *pos, size - *pos, "%s", rep);
        else
            buf[(*pos)++] = (char)c;
    }
    buf[*pos] = '\0';
}

/* The value of form field NAME in an x-www-form-urlencoded body, decoded. */
static int form_value(const char *body, const char *name, char *out, size_t size)
{
    size_t len = strlen(name), n = 0;
    const char *p = body;

    while (p && !(strncmp(p, name, len) == 0 && p[len] == '=')) {
        p = strchr(p, '&');
        p = p ? p + 1 : NULL;
    }
    if (!p)
        return -1;
    for (p += len + 1; *p && *p != '&' && n + 1 < size; p++) {
        unsigned hi;

        if (*p == '+')
            out[n++] = ' ';
        else if (*p == '%' && sscanf(p + 1, "%2x", &hi) == 1)
            out[n++] = (char)hi, p += 2;
        else
            out[n++] = *p;
    }
    out[n] = '\0';
    return 0;
}

/* Room and user names: letters, digits, '-' and '_' only. */
static int good_name(const char *s)
{
    return *s && strlen(s) < 32 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789-_") == strlen(s);
}

/* ---- pages ---- */

static const char choose_page[] =
    "<html><head><title>Chat</title></head><body><h1>Choose a name</h1>\n"
    "<form onsubmit=\"location.href = '/' + encodeURIComponent(this.uid.value); "
    "return false;\"><input name=\"uid\"> <input type=\"submit\" value=\"Enter\">"
    "</form></body></html>\n";

static const char room_script[] =
    "<script>\n"
    "var params = new URLSearchParams(location.search);\n"
    "var expect = params.get('expect');\n"
    "function add(text) {\n"
    "  var li = document.createElement('li');\n"
    "  li.textContent = text;\n"
    "  document.getElementById('messages').appendChild(li);\n"
    "}\n"
    "function from(who) {\n"
    "  var items = document.querySelectorAll('#messages li');\n"
    "  for (var i = 0; i < items.length; i++)\n"
    "    if (items[i].textContent.indexOf(who + ':') === 0) return items[i].textContent;\n"
    "  return null;\n"
    "}\n"
    "function put(text) {\n"
    "  return fetch('/put/' + room + '/' + uid, {method: 'POST',\n"
    "    headers: {'Content-Type': 'application/x-www-form-urlencoded'},\n"
    "    body: 'message=' + encodeURIComponent(text)});\n"
    "}\n"
    "function poll() {\n"
    "  var got = expect && from(expect);\n"
    "  if (got && from(uid)) {\n"
    "    document.getElementById('status').textContent = uid + ' saw ' + got;\n"
    "    return;\n"
    "  }\n"
    "  fetch('/poll/' + uid, {method: 'POST'}).then(function(r) { return r.json(); })\n"
    "    .then(function(msg) { if (typeof msg === 'string') add(msg); poll(); },\n"
    "          function() { setTimeout(poll, 100); });\n"
    "}\n"
    "document.getElementById('put').onsubmit = function() {\n"
    "  var box = document.getElementById('message');\n"
    "  put(box.value); box.value = ''; return false;\n"
    "};\n"
    "if (params.get('say')) put(params.get('say')).then(poll); else poll();\n"
    "</script>\n";

/* GET /<room>/<uid>: join, and the room with its backlog. */
static void room_page(char *buf, size_t size, struct room *r, const char *uid)
{
    size_t pos = (size_t)snprintf(buf, size,
        "<html><head><title>%s: %s</title><style>body { font-family: sans-serif; } "
        "li { padding: 2px; }</style></head><body>\n<h1>Room %s</h1><p>You are %s.</p>\n"
        "<ul id=\"messages\">", r->name, uid, r->name, uid);
    int first = r->nmessages > BACKLOG ? r->nmessages - BACKLOG : 0;

    for (int i = first; i < r->nmessages; i++) {
        pos += (size_t)snprintf(buf + pos, size - pos, "<li>");
        put_escaped(buf, size, &pos, r->messages[i], 0);
        pos += (size_t)snprintf(buf + pos, size - pos, "</li>");
    }
    pos += (size_t)snprintf(buf + pos, size - pos,
        "</ul>\n<form id=\"put\"><input id=\"message\" autocomplete=\"off\"> "
        "<input type=\"submit\" value=\"Send\"></form>\n<p id=\"status\">chatting</p>\n"
        "<script>var room = '%s', uid = '%s';</script>\n%s</body></html>\n",
        r->name, uid, room_script);
    chat_log("join %s %s, backlog %d\n", r->name, uid, r->nmessages - first);
}

/* ---- HTTP ---- */

static int respond(int fd, const char *status, const char *type, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n\r\n", status, type, strlen(body));

    return send_all(fd, head, (size_t)n) == 0 ? send_all(fd, body, strlen(body)) : -1;
}

/* Answers one request; body is the request's body (empty for GET). */
static int route(int fd, const char *method, char *path, const char *body, char *page,
                 size_t size)
{
    char room[32] = "", uid[32] = "", text[MSG_SIZE - 40], line[MSG_SIZE];
    int post = strcmp(method, "POST") == 0;
    struct room *r;
    struct user *u;
    size_t pos = 0;

    path[strcspn(path, "?")] = '\0';
    if (!post && strcmp(path, "/") == 0)
        return respond(fd, "200 OK", "text/html", choose_page);
    if (post && sscanf(path, "/put/%31[^/]/%31s", room, uid) == 2) {
        if (!(r = find_room(room)) || form_value(body, "message", text, sizeof(text)) != 0)
            return respond(fd, "400 Bad Request", "text/plain", "bad put\n");
        snprintf(line, sizeof(line), "%s:%s", uid, text);
        pthread_mutex_lock(&chat_lock);
        if ((u = find_user(uid, 0)))
            room_add(r, line);
        pthread_mutex_unlock(&chat_lock);
        if (!u)
            return respond(fd, "404 Not Found", "text/plain", "no such user\n");
        chat_log("put %s %s\n", room, line);
        return respond(fd, "200 OK", "text/plain", "");
    }
    if (post && sscanf(path, "/poll/%31s", uid) == 1) {
        struct message *m = NULL;

        pthread_mutex_lock(&chat_lock);
        if ((u = find_user(uid, 0)))
            m = user_get(u);
        pthread_mutex_unlock(&chat_lock);
        if (!u)
            return respond(fd, "404 Not Found", "text/plain", "no such user\n");
        if (m) {
            page[pos++] = '"';
            put_escaped(page, size, &pos, m->text, 1);
            snprintf(page + pos, size - pos, "\"");
        } else {
            snprintf(page, size, "[]");
        }
        chat_log("poll %s <- %s\n", uid, m ? m->text : "timeout");
        free(m);
        return respond(fd, "200 OK", "application/json", page);
    }
    if (!post && sscanf(path, "/%31[^/]/%31s", room, uid) == 2) {
        if (!(r = find_room(room)) || !good_name(uid))
            return respond(fd, "404 Not Found", "text/plain", "no such room\n");
        pthread_mutex_lock(&chat_lock);
        if ((u = find_user(uid, 1)))
            subscribe(r, u);
        room_page(page, size, r, uid);
        pthread_mutex_unlock(&chat_lock);
        return respond(fd, "200 OK", "text/html", page);
    }
    if (!post && sscanf(path, "/%31s", uid) == 1 && good_name(uid)) {
        pos = (size_t)snprintf(page, size, "<html><head><title>Chat</title></head><body>"
                               "<h1>Hello %s, choose a room</h1><ul>", uid);
        for (size_t i = 0; i < sizeof(rooms) / sizeof(rooms[0]); i++)
            pos += (size_t)snprintf(page + pos, size - pos,
                                    "<li><a href=\"/%s/%s\">%s</a></li>", rooms[i].name,
                                    uid, rooms[i].name);
        snprintf(page + pos, size - pos, "</ul></body></html>\n");
        return respond(fd, "200 OK", "text/html", page);
    }
    return respond(fd, "404 Not Found", "text/plain", "not found\n");
}

/* Keep-alive: requests follow each other on the connection until it closes. */
static void *connection(void *arg)
{
    enum { BUF = 16384, PAGE = 64 * 1024 };
    int fd = (int)(intptr_t)arg;
    char *buf = malloc(BUF), *page = malloc(PAGE);
    size_t have = 0;

    while (buf && page) {
        char method[8], path[256], *end, *cl;
        size_t head, length = 0, total;
        ssize_t n;

        buf[have] = '\0';
        while (!(end = strstr(buf, "\r\n\r\n"))) {
            if (have + 1 >= BUF || (n = recv(fd, buf + have, BUF - 1 - have, 0)) <= 0)
                goto out;
            have += (size_t)n;
            buf[have] = '\0';
        }
        head = (size_t)(end + 4 - buf);
        cl = strcasestr(buf, "\r\nContent-Length:");
        if (cl && cl < end)
            length = strtoul(cl + 17, NULL, 10);
        total = head + length;
        if (total >= BUF)
            goto out;
        while (have < total) {
            if ((n = recv(fd, buf + have, BUF - 1 - have, 0)) <= 0)
                goto out;
            have += (size_t)n;
        }
        /* The body as a string; the next request's first byte is saved. */
        char next = buf[total];
        buf[total] = '\0';
        if (sscanf(buf, "%7s %255s", method, path) != 2 ||
            route(fd, method, path, buf + head, page, PAGE) != 0)
            break;
        buf[total] = next;
        have -= total;
        memmove(buf, buf + total, have);
    }
out:
    free(buf);
    free(page);
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    serve_forever(listen_from_args(argc, argv), connection);
}
