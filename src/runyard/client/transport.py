"""Requests described once, sent by a sync or an async httpx client.

Every SDK method is written once, as a function that *describes* what to send: a :class:`Call`
(one request and how to read its answer), a :class:`Stream` (a request whose answer is read line
by line as it arrives) or a :class:`Plan` (a generator yielding calls and streams, for methods
needing more than one request). :func:`operation` and :func:`streaming` turn such functions into
methods that :class:`SyncTransport` runs with ``httpx.Client`` and :class:`AsyncTransport` awaits
with ``httpx.AsyncClient``: the two clients differ only in how they do I/O.

The answer of every request goes through :meth:`Connection._answer`, the one place where non-2xx
answers become :class:`~runyard.client.errors.ApiError`; httpx errors become
:class:`~runyard.client.errors.ConnectionFailed` or :class:`~runyard.client.errors.WaitTimeout`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload
from urllib.parse import quote

import httpx

from runyard.client.errors import ApiError, ConnectionFailed, WaitTimeout
from runyard.tls import verification

API_PATH = "/api/v1"
DEFAULT_TIMEOUT = 30.0
"""Seconds to connect, send, or wait for an answer (streams wait for their next line without limit)."""
RECONNECT_SECONDS = 1.0
"""Pause before a resumable stream is opened again."""
RECONNECT_ATTEMPTS = 5
"""Failed openings in a row (with nothing read) after which a resumable stream gives up."""

T = TypeVar("T")
P = ParamSpec("P")
Params = Mapping[str, Any] | list[tuple[str, Any]]
_TIME_UP = "the time given ran out before the end"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request under ``/api/v1``, not sent yet, and how to read a 2xx answer."""

    method: str
    path: str
    decode: Callable[[httpx.Response], T]
    params: Params | None = None
    json: Any = None
    content: bytes | None = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    data: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = None
    held: float = 0.0
    """Seconds the server may hold the request before answering (added to the client's read timeout)."""


@dataclass(frozen=True)
class Stream(Generic[T]):
    """A ``GET`` whose answer is read line by line; ``reader()`` makes the function turning lines into items.

    With ``timeout``, reading gives up with :class:`WaitTimeout` that many seconds after the start
    (checked as lines arrive, and while waiting for the next one). With ``resume``, a stream that ended
    or dropped is opened again with the headers it gives (such as ``Last-Event-ID``), unless it gives
    ``None``. With ``stop``, the stream is closed after the first item it holds true for.
    """

    path: str
    reader: Callable[[], Callable[[str], Iterable[T]]]
    params: Params | None = None
    timeout: float | None = None
    resume: Callable[[], Mapping[str, str] | None] | None = None
    stop: Callable[[T], bool] | None = None


@dataclass(frozen=True)
class Sleep:
    """Wait before the next step (for what no event announces yet)."""

    seconds: float


Step = Call[Any] | Stream[Any] | Sleep
Plan = Generator[Step, Any, T]
"""Yields calls (sent back: the decoded answer), streams (sent back: the list of their items) and
sleeps (sent back: ``None``)."""


def json_body(response: httpx.Response) -> Any:
    return response.json()


def text_body(response: httpx.Response) -> str:
    return response.text


def bytes_body(response: httpx.Response) -> bytes:
    return response.content


def no_body(_response: httpx.Response) -> None:
    return None


def segment(value: str | int) -> str:
    """``value`` quoted as one path segment (task names hold ``#`` and ``*``)."""
    return quote(str(value), safe="")


def api_url(url: str) -> str:
    """``http://host:port`` (with or without ``/api/v1``) → ``http://host:port/api/v1``."""
    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL as error:  # a bad port, a bad character...
        raise ValueError(f"not a valid URL: {url!r} ({error})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"not an http(s) URL: {url!r}")
    base = str(parsed.copy_with(query=None, fragment=None)).rstrip("/")
    return base if base.endswith(API_PATH) else base + API_PATH


class Connection:
    """What both clients share: where the server is, the token, building requests, reading answers."""

    def __init__(self, url: str, token: str | None, timeout: float) -> None:
        self.api = api_url(url)
        """The API's base URL, ``http://host:port/api/v1``."""
        self.url = self.api.removesuffix(API_PATH)
        """The server's base URL."""
        self.token = token
        """The session token sent as ``Authorization: Bearer``; set by ``login``, cleared by ``logout``."""
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r}, token={'***' if self.token else None})"

    def _request(
        self,
        http: httpx.Client | httpx.AsyncClient,
        step: Call[Any] | Stream[Any],
        resumed: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if isinstance(step, Stream):
            return http.build_request(
                "GET",
                step.path,
                params=step.params,
                headers={**headers, **(resumed or {}), "Accept": "text/event-stream, text/plain"},
                timeout=httpx.Timeout(self.timeout, read=step.timeout),
            )
        return http.build_request(
            step.method,
            step.path,
            params=step.params,
            json=step.json,
            content=step.content,
            files=step.files,
            data=step.data,
            headers={**headers, **(step.headers or {})},
            timeout=httpx.Timeout(self.timeout, read=self.timeout + step.held)
            if step.held
            else httpx.USE_CLIENT_DEFAULT,
        )

    @staticmethod
    def _answer(call: Call[T], response: httpx.Response) -> T:
        check(response)
        return call.decode(response)

    @contextmanager
    def _translated(self, deadline: float | None = None) -> Iterator[None]:
        """httpx errors raised inside become SDK errors."""
        try:
            yield
        except httpx.TimeoutException as error:
            if deadline is not None and time.monotonic() >= deadline - 0.05:  # the read timeout was the rest
                raise WaitTimeout(_TIME_UP) from None
            raise ConnectionFailed(f"{self.url} did not answer in time ({type(error).__name__})") from error
        except httpx.HTTPError as error:
            raise ConnectionFailed(f"cannot talk to {self.url}: {error}") from error


def check(response: httpx.Response) -> None:
    """Raise :class:`ApiError` for a non-2xx answer (its body must have been read)."""
    if response.is_success:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str) and "message" in body:
        raise ApiError(response.status_code, body["error"], str(body["message"]), body.get("details"))
    if isinstance(body, dict) and isinstance(body.get("errorCode"), str):  # the App Engine's (Cytomine's)
        raise ApiError(response.status_code, body["errorCode"], str(body.get("message")), body.get("details"))
    text = response.text.strip()[:500] or response.reason_phrase
    raise ApiError(response.status_code, "http_error", text)


def _deadline(stream: Stream[Any]) -> float | None:
    return None if stream.timeout is None else time.monotonic() + stream.timeout


def _check_deadline(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() >= deadline:
        raise WaitTimeout(_TIME_UP)


class _Openings:
    """Whether a stream that ended (or dropped with ``error``) is opened again, and with which headers."""

    def __init__(self, stream: Stream[Any]) -> None:
        self.stream = stream
        self.headers: Mapping[str, str] | None = None
        self.failures = 0

    def again(self, error: ConnectionFailed | None, read: bool) -> bool:
        self.failures = 0 if read else self.failures + (error is not None)
        headers = self.stream.resume() if self.stream.resume is not None else None
        if headers is None or self.failures >= RECONNECT_ATTEMPTS:
            if error is not None:
                raise error
            return False
        self.headers = headers
        return True


class SyncTransport(Connection):
    """Runs calls, streams and plans with ``httpx.Client``."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(url, token, timeout)
        self._http = httpx.Client(
            base_url=self.api, timeout=timeout, transport=transport, verify=verification(self.api)
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _run(self, step: Call[T] | Plan[T]) -> T:
        if isinstance(step, Call):
            return self._call(step)
        sent: Any = None
        while True:
            try:
                next_step = step.send(sent)
            except StopIteration as done:
                result: T = done.value
                return result
            if isinstance(next_step, Sleep):
                time.sleep(next_step.seconds)
                sent = None
            else:
                sent = self._call(next_step) if isinstance(next_step, Call) else list(self._stream(next_step))

    def _call(self, call: Call[T]) -> T:
        with self._translated():
            response = self._http.send(self._request(self._http, call))
        return self._answer(call, response)

    def _stream(self, stream: Stream[T]) -> Iterator[T]:
        deadline, openings = _deadline(stream), _Openings(stream)
        while True:
            read, error = False, None
            try:
                for item in self._open(stream, deadline, openings.headers):
                    read = True
                    yield item
                    if stream.stop is not None and stream.stop(item):
                        return
            except ConnectionFailed as failed:
                error = failed
            if not openings.again(error, read):
                return
            time.sleep(RECONNECT_SECONDS)

    def _open(
        self, stream: Stream[T], deadline: float | None, resumed: Mapping[str, str] | None
    ) -> Iterator[T]:
        with self._translated(deadline):
            response = self._http.send(self._request(self._http, stream, resumed), stream=True)
            try:
                if not response.is_success:
                    response.read()
                    check(response)
                read = stream.reader()
                for line in response.iter_lines():
                    yield from read(line)
                    _check_deadline(deadline)
            finally:
                response.close()


class AsyncTransport(Connection):
    """Awaits calls, streams and plans with ``httpx.AsyncClient``."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(url, token, timeout)
        self._http = httpx.AsyncClient(
            base_url=self.api, timeout=timeout, transport=transport, verify=verification(self.api)
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _run(self, step: Call[T] | Plan[T]) -> T:
        if isinstance(step, Call):
            return await self._call(step)
        sent: Any = None
        while True:
            try:
                next_step = step.send(sent)
            except StopIteration as done:
                result: T = done.value
                return result
            if isinstance(next_step, Sleep):
                await asyncio.sleep(next_step.seconds)
                sent = None
            elif isinstance(next_step, Call):
                sent = await self._call(next_step)
            else:
                sent = [item async for item in self._stream(next_step)]

    async def _call(self, call: Call[T]) -> T:
        with self._translated():
            response = await self._http.send(self._request(self._http, call))
        return self._answer(call, response)

    async def _stream(self, stream: Stream[T]) -> AsyncIterator[T]:
        deadline, openings = _deadline(stream), _Openings(stream)
        while True:
            read, error = False, None
            try:
                async for item in self._open(stream, deadline, openings.headers):
                    read = True
                    yield item
                    if stream.stop is not None and stream.stop(item):
                        return
            except ConnectionFailed as failed:
                error = failed
            if not openings.again(error, read):
                return
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _open(
        self, stream: Stream[T], deadline: float | None, resumed: Mapping[str, str] | None
    ) -> AsyncIterator[T]:
        with self._translated(deadline):
            response = await self._http.send(self._request(self._http, stream, resumed), stream=True)
            try:
                if not response.is_success:
                    await response.aread()
                    check(response)
                read = stream.reader()
                async for line in response.aiter_lines():
                    for item in read(line):
                        yield item
                    _check_deadline(deadline)
            finally:
                await response.aclose()


class _Method(Generic[P, T]):
    """Base of the descriptors: keeps the describing function, its name and its docstring."""

    def __init__(self, describe: Callable[..., Any]) -> None:
        self.describe = describe
        self.__name__ = describe.__name__
        self.__qualname__ = describe.__qualname__
        self.__doc__ = describe.__doc__

    def _bind(self, instance: Any, run: Callable[[Any], Any]) -> Callable[..., Any]:
        def method(*args: Any, **kwargs: Any) -> Any:
            return run(self.describe(instance, *args, **kwargs))

        method.__name__, method.__qualname__, method.__doc__ = self.__name__, self.__qualname__, self.__doc__
        return method


class Operation(_Method[P, T]):
    """A method returning ``T`` on :class:`SyncTransport`, an awaitable of it on :class:`AsyncTransport`."""

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, instance: SyncTransport, owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(self, instance: AsyncTransport, owner: type[Any]) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, instance: Any, owner: type[Any]) -> Any:
        return self if instance is None else self._bind(instance, instance._run)


class StreamOperation(_Method[P, T]):
    """A method returning an iterator of ``T`` (sync) or an async iterator of ``T`` (async)."""

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, instance: SyncTransport, owner: type[Any]) -> Callable[P, Iterator[T]]: ...
    @overload
    def __get__(self, instance: AsyncTransport, owner: type[Any]) -> Callable[P, AsyncIterator[T]]: ...
    def __get__(self, instance: Any, owner: type[Any]) -> Any:
        return self if instance is None else self._bind(instance, instance._stream)


def operation(describe: Callable[Concatenate[Any, P], Call[T] | Plan[T]]) -> Operation[P, T]:
    """Decorate a method that describes a call or a plan: it becomes a method of both clients."""
    return Operation(describe)


def streaming(describe: Callable[Concatenate[Any, P], Stream[T]]) -> StreamOperation[P, T]:
    """Decorate a method that describes a stream: it becomes an iterator method of both clients."""
    return StreamOperation(describe)
