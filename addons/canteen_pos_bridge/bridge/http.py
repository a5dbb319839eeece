"""A small HTTP/1.1 server for the bridge, on gevent's StreamServer.

Terminals send small JSON requests over keep-alive connections, a thousand a second. A general
WSGI server spends more time parsing headers (with the e-mail parser) than the bridge spends
deciding a charge; this one reads exactly what the protocol needs: a request line, headers,
a Content-Length body. Anything else gets a 4xx and the connection is closed.
"""

import contextlib
import logging
import socket

from gevent.server import StreamServer

_logger = logging.getLogger("canteen.bridge")

MAX_HEAD = 16 * 1024
IDLE_TIMEOUT = 75  # a keep-alive connection waiting for its next request
REQUEST_TIMEOUT = 30  # a request whose head or body is still arriving
DRAIN_LIMIT = 4 * 1024 * 1024  # of a refused body, read so the client sees the answer


class BadHttp(Exception):
    def __init__(self, status, code):
        super().__init__(code)
        self.status, self.code = status, code


class HttpServer(StreamServer):
    """Serve `respond(environ, body) -> (status, body bytes)`; environ has the WSGI keys the
    bridge reads (REQUEST_METHOD, PATH_INFO, QUERY_STRING, CONTENT_LENGTH, HTTP_*)."""

    max_body = 1024 * 1024

    def __init__(self, listener, respond, **kwargs):
        super().__init__(listener, **kwargs)
        self.respond = respond
        self.idle = set()  # connections between requests: closed at once on stop

    def handle(self, sock, _address):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = b""
        try:
            while True:
                try:
                    request, buffer = self._read_request(sock, buffer)
                except BadHttp as error:
                    self._send(sock, error.status, b'{"error": "%s"}' % error.code.encode(), close=True)
                    self._drain(sock)
                    return
                if request is None:
                    return
                environ, body, keep_alive = request
                status, payload = self.respond(environ, body)
                self._send(sock, status, payload, close=not keep_alive)
                if not keep_alive:
                    return
        except (OSError, TimeoutError):
            return
        finally:
            self.idle.discard(sock)
            sock.close()

    def drain(self, timeout):
        """Stop accepting, let go of idle keep-alive connections, finish the requests in
        flight (for up to `timeout` seconds), then stop."""
        self.close()
        for sock in list(self.idle):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.stop(timeout=timeout)

    def _read_request(self, sock, buffer):
        """((environ, body, keep_alive), rest of the buffer); (None, b"") when the client
        closed the connection between requests."""
        if not buffer:
            self.idle.add(sock)
            sock.settimeout(IDLE_TIMEOUT)
        while b"\r\n\r\n" not in buffer:
            if len(buffer) > MAX_HEAD:
                raise BadHttp(431, "headers_too_large")
            chunk = sock.recv(65536)
            if not chunk:
                if buffer:
                    raise BadHttp(400, "bad_request")
                return None, b""
            self.idle.discard(sock)
            sock.settimeout(REQUEST_TIMEOUT)
            buffer += chunk
        self.idle.discard(sock)
        head, _sep, buffer = buffer.partition(b"\r\n\r\n")
        method, target, version, headers = parse_head(head)
        if "transfer-encoding" in headers:
            raise BadHttp(411, "length_required")
        length = headers.get("content-length", "0")
        if not length.isdigit():
            raise BadHttp(400, "bad_request")
        if int(length) > self.max_body:
            raise BadHttp(413, "payload_too_large")
        while len(buffer) < int(length):
            chunk = sock.recv(65536)
            if not chunk:
                return None, b""
            buffer += chunk
        body, buffer = buffer[: int(length)], buffer[int(length) :]
        path, _sep, query = target.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_LENGTH": length,
        }
        for name, value in headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" and (version == "HTTP/1.1" or connection == "keep-alive")
        return (environ, body, keep_alive), buffer

    @staticmethod
    def _send(sock, status, payload, close):
        head = (
            f"HTTP/1.1 {status} {STATUS_TEXT.get(status, '')}\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(payload)}\r\n" + ("Connection: close\r\n" if close else "") + "\r\n"
        )
        sock.sendall(head.encode() + payload)

    @staticmethod
    def _drain(sock):
        """Read what the client still sends of a refused request, briefly, then let it go."""
        sock.settimeout(1)
        received = 0
        with contextlib.suppress(OSError, TimeoutError):
            sock.shutdown(socket.SHUT_WR)
            while received < DRAIN_LIMIT:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += len(chunk)


def parse_head(head):
    """(method, target, version, {lower-case header name: value}); BadHttp when malformed."""
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError as error:
        raise BadHttp(400, "bad_request") from error
    if version not in ("HTTP/1.1", "HTTP/1.0") or not target.startswith("/"):
        raise BadHttp(400, "bad_request")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadHttp(400, "bad_request")
        name = name.lower()
        if name in headers and name in ("content-length", "transfer-encoding"):
            raise BadHttp(400, "bad_request")
        headers[name] = value.strip()
    return method, target, version, headers


STATUS_TEXT = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Payload Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
