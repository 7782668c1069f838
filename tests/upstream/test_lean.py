"""The lean HTTP/1.1 client (upstream/transport/lean.py) against raw asyncio servers: what it
reuses, what it refuses to reuse, bodies of every framing, limits and timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from cozegate.upstream.transport.http import HTTPTransport, Timeouts, lean_supported
from cozegate.upstream.transport.lean import LeanPool, LeanRequest

Handler = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]
LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=5, keepalive_expiry=30)
TIMEOUT = httpx.Timeout(2.0)


class Server:
    """Reads requests on each connection and hands each to ``handler``; counts connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> httpx.URL:
        assert self._server is not None
        return httpx.URL(f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}")

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError,
                                 asyncio.CancelledError):
            while not writer.is_closing():
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                await self.handler(request, writer)
        writer.close()


def ok(body: bytes = b"{}", *headers: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def answer(data: bytes, *, close: bool = False) -> Handler:
    async def handler(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        if close:
            writer.close()

    return handler


def post(target: str = "/v1/x", body: bytes = b"{}",
         timeout: httpx.Timeout = TIMEOUT) -> LeanRequest:
    return LeanRequest("POST", target, [("Content-Type", "application/json")], body, timeout)


@pytest.fixture
async def pool_for() -> AsyncIterator[Callable[..., LeanPool]]:
    pools: list[LeanPool] = []

    def make(url: httpx.URL, limits: httpx.Limits = LIMITS) -> LeanPool:
        pools.append(LeanPool(url, limits=limits, headers=[("User-Agent", "t")]))
        return pools[-1]

    yield make
    for pool in pools:
        await pool.aclose()


async def test_requests_reuse_one_connection(pool_for) -> None:
    async with Server(answer(ok(b'{"a":1}'))) as server:
        pool = pool_for(server.url)
        for _ in range(5):
            response = await pool.send(post())
            assert (response.status_code, await response.aread()) == (200, b'{"a":1}')
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /v1/x HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nUser-Agent: t\r\n" in first and b"\r\nContent-Length: 2\r\n" in first


async def test_response_headers_read_as_httpx_reads_them(pool_for) -> None:
    """Case-insensitive and repeated names joined, as httpx.Headers; each value UTF-8 when
    it is valid, else ISO-8859-1 (httpx picks one encoding for all of a response's)."""
    head = ok(b"{}", "X-Tt-Logid: 2025A", "Set-Thing: a", "set-thing: b").replace(
        b"\r\n\r\n", b"\r\nX-Name: caf\xc3\xa9\r\nX-Old: caf\xe9\r\n\r\n", 1)
    async with Server(answer(head)) as server:
        response = await pool_for(server.url).send(post())
        await response.aread()
    expected = httpx.Headers([(k, v) for k, v in response.headers.raw])
    for name in ("x-tt-logid", "X-TT-LOGID", "Set-Thing", "content-length"):
        assert response.headers[name] == expected[name]
    assert response.headers.get("set-thing") == "a, b"
    assert response.headers["x-name"] == "café" and response.headers["x-old"] == "café"
    assert response.headers.get("x-missing") is None and "x-missing" not in response.headers
    assert response.headers.get("x-missing", "d") == "d" and "X-Tt-Logid" in response.headers
    with pytest.raises(KeyError):
        response.headers["x-missing"]
    assert list(response.headers) == ["content-length", "x-tt-logid", "set-thing", "x-name",
                                      "x-old"]
    assert len(response.headers) == 5


async def test_a_connection_the_server_closed_is_not_reused(pool_for) -> None:
    async with Server(answer(ok(), close=True)) as server:
        pool = pool_for(server.url)
        for _ in range(3):  # at once, before the loop has seen the EOF
            response = await pool.send(post())
            await response.aread()
    assert server.connections == 3


async def test_connection_close_and_idle_expiry_end_reuse(pool_for) -> None:
    async with Server(answer(ok(b"{}", "Connection: close"))) as server:
        pool = pool_for(server.url)
        for _ in range(2):
            await (await pool.send(post())).aread()
    assert server.connections == 2
    async with Server(answer(ok())) as server:
        pool = pool_for(server.url, httpx.Limits(max_connections=5, keepalive_expiry=0))
        for _ in range(2):
            await (await pool.send(post())).aread()
    assert server.connections == 2


async def test_bodies_chunked_gzip_and_until_eof(pool_for) -> None:
    packed = gzip.compress(b"hello " * 1000)
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
               + f"{len(packed):x}\r\n".encode() + packed + b"\r\n0\r\n\r\n")
    async with Server(answer(chunked)) as server:
        response = await pool_for(server.url).send(post())
        assert await response.aread() == b"hello " * 1000
    until_eof = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbis zum Ende"
    async with Server(answer(until_eof, close=True)) as server:
        response = await pool_for(server.url).send(post())
        await response.aread()
        assert response.text == "bis zum Ende"


async def test_a_body_cut_short_is_an_error(pool_for) -> None:
    cut = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part"
    async with Server(answer(cut, close=True)) as server:
        response = await pool_for(server.url).send(post())
        with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
            await response.aread()
    async with Server(answer(b"", close=True)) as server:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await pool_for(server.url).send(post())
    async with Server(answer(b"NOT HTTP AT ALL\r\n\r\n")) as server:
        with pytest.raises(httpx.RemoteProtocolError, match="malformed"):
            await pool_for(server.url).send(post())


async def test_timeouts(pool_for) -> None:
    async def silent(request: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async with Server(silent) as server:
        with pytest.raises(httpx.ReadTimeout):
            await pool_for(server.url).send(post(timeout=httpx.Timeout(0.05)))

    async def stalls_mid_body(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        await asyncio.sleep(5)

    async with Server(stalls_mid_body) as server:
        response = await pool_for(server.url).send(post(timeout=httpx.Timeout(0.05)))
        chunks = response.aiter_bytes()
        assert await anext(chunks) == b"abc"
        with pytest.raises(httpx.ReadTimeout):
            await anext(chunks)
    with pytest.raises(httpx.ConnectError):
        await pool_for(httpx.URL("http://127.0.0.1:9")).send(post())


async def test_waiting_with_a_wake_up_time(pool_for) -> None:
    """next_chunk(wake) returns IDLE after ``wake`` s without losing the read; the read
    timeout counts the whole silence, across IDLE returns, not each call."""
    from cozegate.kit.readahead import IDLE

    release = asyncio.Event()

    async def slow_chunks(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        await release.wait()
        writer.write(b"3\r\nabc\r\n")
        await asyncio.sleep(5)  # then silence: the read timeout must end it

    async with Server(slow_chunks) as server:
        response = await pool_for(server.url).send(post(timeout=httpx.Timeout(2.0, read=0.3)))
        assert await response.next_chunk(0.02) is IDLE
        assert await response.next_chunk(0.02) is IDLE
        release.set()
        assert await response.next_chunk(1.0) == b"abc"  # the read went on: nothing lost
        loop = asyncio.get_running_loop()
        started, idles = loop.time(), 0
        with pytest.raises(httpx.ReadTimeout):
            async with asyncio.timeout(3):  # a clock restarted per call would never time out
                while await response.next_chunk(0.05) is IDLE:
                    idles += 1
        # Keep-alive wake-ups did not restart the silence clock: the timeout came after the
        # 0.3 s of silence (not never), and only after a few wake-ups.
        assert idles >= 3 and loop.time() - started >= 0.29
        await response.aclose()


async def test_the_pool_limit_queues_and_times_out(pool_for) -> None:
    release = asyncio.Event()

    async def slow(request: bytes, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.write(ok())

    async with Server(slow) as server:
        pool = pool_for(server.url, httpx.Limits(max_connections=1))
        first = asyncio.create_task(pool.send(post()))
        await asyncio.sleep(0.05)
        with pytest.raises(httpx.PoolTimeout):
            await pool.send(post(timeout=httpx.Timeout(2.0, pool=0.05)))
        queued = asyncio.create_task(pool.send(post()))
        await asyncio.sleep(0.05)
        cancelled = asyncio.create_task(pool.send(post()))
        await asyncio.sleep(0.05)
        cancelled.cancel()  # gives up its place in the queue
        release.set()
        await (await first).aread()
        await (await queued).aread()
        await (await pool.send(post())).aread()  # the slot was not lost
    assert server.connections == 1


async def test_a_large_body_read_slowly_is_complete(pool_for) -> None:
    body = bytes(range(256)) * 20_000  # 5 MB: reading pauses and resumes

    async with Server(answer(ok(body))) as server:
        response = await pool_for(server.url).send(post())
        received = bytearray()
        async for chunk in response.aiter_bytes():
            received += chunk
            await asyncio.sleep(0)
        assert received == body
        await (await pool_for(server.url).send(post())).aread()


async def test_closing_early_drops_the_connection(pool_for) -> None:
    async def endless(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(50):
            writer.write(b"1\r\nx\r\n")
            await asyncio.sleep(0.01)

    async with Server(endless) as server:
        pool = pool_for(server.url)
        response = await pool.send(post())
        reading = asyncio.create_task(response.aread())
        await asyncio.sleep(0.02)
        await response.aclose()  # from another task: the reader fails, not a clean end
        with pytest.raises(httpx.ReadError):
            await reading
        assert response.is_closed and pool._idle == []


def test_proxies_and_other_schemes_use_httpx(monkeypatch) -> None:
    url = httpx.URL("https://api.coze.cn")
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                 "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert lean_supported(url) and not lean_supported(httpx.URL("emulator://sandbox"))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    assert not lean_supported(url)
    monkeypatch.setenv("NO_PROXY", "api.coze.cn")
    assert lean_supported(url)


async def test_http_transport_paths_query_and_json() -> None:
    async with Server(answer(ok(b'{"code":0}'))) as server:
        transport = HTTPTransport(f"{server.url}/prefix/", timeouts=Timeouts())
        try:
            request = transport.build_request(
                "POST", "/v1/workflow/run", token="pat_x", timeout=Timeouts().for_run(),
                json={"q": "中文"}, params={"a": "b c", "n": 1})
            response = await transport.send(request)
            assert response.text == '{"code":0}'
        finally:
            await transport.aclose()
    sent = server.requests[0]
    assert sent.startswith(b"POST /prefix/v1/workflow/run?a=b+c&n=1 HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer pat_x\r\n" in sent
    assert sent.endswith('{"q":"中文"}'.encode())


def _self_signed(tmp_path) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


async def test_https_requests_reuse_one_tls_connection(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import ssl

    cert, key = _self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    connections = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                writer.write(ok(b'{"tls":true}'))
                await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    pool = LeanPool(httpx.URL(f"https://127.0.0.1:{port}"), limits=LIMITS)
    pool._ssl = ssl.create_default_context(cafile=cert)  # trust the test certificate
    try:
        for _ in range(3):
            response = await pool.send(post())
            assert await response.aread() == b'{"tls":true}'
    finally:
        await pool.aclose()
        server.close()
    assert len(connections) == 1


async def test_the_first_chunk_is_read_inside_the_callback(pool_for, monkeypatch) -> None:
    """kit.eager: the reader of a response's first body chunk resumes inside the callback
    that received it (once the packet is parsed), not a loop pass later; the head and later
    chunks wake it a pass later, so chunks that came meanwhile are taken together."""
    from cozegate.upstream.transport import lean

    order: list[str] = []
    received = lean._Connection.data_received

    def observed(self, data: bytes) -> None:  # type: ignore[no-untyped-def]
        order.append("packet in")
        received(self, data)
        order.append("packet done")

    monkeypatch.setattr(lean._Connection, "data_received", observed)
    go = asyncio.Event()

    async def paced(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for part in (b"one", b"two", b"three"):
            await go.wait()
            go.clear()
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    async with Server(paced) as server:
        response = await pool_for(server.url).send(post())
        order.append("head read")
        for expected in (b"one", b"two"):
            go.set()
            assert await response.next_chunk() == expected
            order.append(f"{expected.decode()} read")
        go.set()
        assert await response.aread() == b"three"
    assert order[:9] == ["packet in", "packet done", "head read",
                         "packet in", "one read", "packet done",
                         "packet in", "packet done", "two read"]


async def test_a_response_in_one_packet_wakes_its_reader_once(pool_for, monkeypatch) -> None:
    """Head and whole body in one packet: the reader resumes once, after the packet is
    parsed, and finds all of it."""
    from cozegate.upstream.transport import lean

    wakes: list[str] = []
    wake = lean._Body._wake_reader

    def observed(self) -> None:  # type: ignore[no-untyped-def]
        wakes.append("owed" if self._connection.receiving else "woken")
        wake(self)

    monkeypatch.setattr(lean._Body, "_wake_reader", observed)
    async with Server(answer(ok(b'{"a":1}'))) as server:
        response = await pool_for(server.url).send(post())
        assert response.body_complete
        assert await response.aread() == b'{"a":1}'
    # The body and its end were parsed in one packet: one wake-up, after it.
    assert wakes == ["owed", "owed", "woken"]
