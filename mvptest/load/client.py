"""The HTTP client of a run's users: every call sent once, on geventhttpclient's HTTPClient, without extra work."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import gevent.local
from geventhttpclient.client import HTTPClient, HTTPClientPool
from geventhttpclient.header import Headers
from geventhttpclient.response import HTTPConnectionClosed
from geventhttpclient.url import URL
from locust.contrib.fasthttp import FAILURE_EXCEPTIONS, ErrorResponse, FastResponse, LocustBadStatusCode, LocustUserAgent


class ClosedBeforeResponse(HTTPConnectionClosed):
    """The connection was closed or reset after the request went out and before any byte of a response."""


# --------------------------------------------------------------------------- one attempt per call

_ATTEMPT = gevent.local.local()  # per greenlet: has the current request taken its connection yet?


class OneAttemptClient(HTTPClient):
    """geventhttpclient's HTTPClient with exactly one attempt per request.

    HTTPClient.request retries on a fresh connection, up to the pool size + 1 times, when the connection is
    closed or reset after the request was sent and before a response (client.py: ``attempts_left``), whatever
    ``max_retries`` says: a provider that resets after reading the request then looks healthy. Each attempt
    takes a socket with ``get_socket()``; a second one within the same request is the retry, refused here, so
    the call fails as it happened. (A pooled connection the provider has already closed is dropped inside
    ``get_socket()`` before anything is sent on it: that is no retry.)"""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        take = self._connection_pool.get_socket

        def get_socket() -> Any:
            if getattr(_ATTEMPT, "taken", False):
                raise ClosedBeforeResponse("the connection was closed or reset after the request was sent, "
                                           "before any response")
            _ATTEMPT.taken = True
            return take()

        self._connection_pool.get_socket = get_socket  # type: ignore[method-assign]

    def request(self, *args: Any, **kw: Any) -> Any:
        _ATTEMPT.taken = False
        try:
            return super().request(*args, **kw)
        finally:
            _ATTEMPT.taken = False


class OneAttemptPool(HTTPClientPool):
    """HTTPClientPool handing out OneAttemptClient, with the arguments FastHttpSession gave its own pool."""

    def get_client(self, url: Any) -> HTTPClient:
        if not isinstance(url, URL):
            url = URL(url)
        key = url.host, url.port
        client = self.clients.get(key)
        if client is None:
            client = self.clients[key] = OneAttemptClient.from_url(url, **self.client_args)
        return client


def one_attempt(session: Any) -> None:
    """Make a FastHttpSession send every request once: no retry by the user agent, none by the HTTP client,
    no redirect followed (a redirect is a second request the provider counts, and a status the spec did not
    ask for). Read from geventhttpclient 2.6 (useragent.UserAgent.urlopen, client.HTTPClient.request)."""
    agent = session.client
    agent.max_retries = 0
    agent.max_redirects = 0
    old = agent.clientpool
    agent.clientpool = OneAttemptPool(**old.client_args)
    old.close()


# --------------------------------------------------------------------------- the request itself

# A request target that geventhttpclient's quoting (URL(url).quoted_uri: urlparse, then requests' requote_uri)
# returns unchanged: one leading slash, unreserved characters and '/' in the path, an optional non-empty query of
# unreserved characters, '=' and '&'. Any other target (percent signs, non-ASCII, ';', '#', '//') is quoted by
# that same code, as before.
_PLAIN_TARGET = re.compile(r"/(?:[A-Za-z0-9_.~-][A-Za-z0-9/_.~-]*)?(?:\?[A-Za-z0-9/_.~=&-]+)?")


class _Direct:
    """What a session's calls share: the pooled HTTP client of its host, its origin, the merged default headers."""

    __slots__ = ("agent", "http", "origin", "shared", "shared_merged")

    def __init__(self, session: Any) -> None:
        self.agent = session.client
        base = session.base_url
        self.http = self.agent.clientpool.get_client(URL(base))
        parts = urlsplit(base)
        origin = f"{parts.scheme}://{parts.netloc}"
        self.origin = origin if base.startswith(origin) else None
        self.shared: dict[str, str] | None = None  # the dict the merge below was made from (held: no id reuse)
        self.shared_merged: Headers | None = None

    def merged(self, headers: dict[str, str], shared: bool) -> Headers:
        """The user agent's default headers updated with ``headers`` (UserAgent.urlopen's ``req_headers``);
        made once for a ``shared`` dict (the same object, never changed, for every call), and never modified."""
        if shared and headers is self.shared and self.shared_merged is not None:
            return self.shared_merged
        merged = self.agent.default_headers.copy()
        merged.update(headers)
        if shared:
            self.shared, self.shared_merged = headers, merged
        return merged

    def target(self, url: str) -> str:
        origin = self.origin
        if origin is not None and url.startswith(origin):
            rest = url[len(origin):]
            if _PLAIN_TARGET.fullmatch(rest):
                return rest
        return str(URL(url).quoted_uri)


def send(session: Any, method: str, url: str, *, payload: bytes | None, headers: dict[str, str],
         shared: bool = False) -> Any:
    """One request, as ``FastHttpSession._send_request_safe_mode`` sends it with no retry and no redirect (see
    ``one_attempt``), minus the work those make for every call: a FastResponse (``.error`` set to a
    LocustBadStatusCode and the body released for a status Locust counts as bad), or an ErrorResponse whose
    ``.error`` is what the HTTP client raised. Exceptions outside Locust's FAILURE_EXCEPTIONS propagate, as there.

    The same bytes go out: the user agent's default headers updated with ``headers``, the request target quoted by
    geventhttpclient's URL where it needs quoting, cookies from the session's jar when it holds any, and cookies a
    response sets kept in it. Skipped, because they change nothing for a call sent once: the retry and redirect
    loops, parsing the URL for every call, and the cookie jar's work when it is empty and no cookie is set.
    ``shared``: ``headers`` is the same dict, never changed, for every call (its merge is made once)."""
    direct = getattr(session, "_mvptest_direct", None)
    if direct is None:
        direct = session._mvptest_direct = _Direct(session)
    agent = direct.agent
    jar = agent.cookiejar
    request: Any = None
    merged = direct.merged(headers, shared)
    try:
        if jar is not None and len(jar):
            request = agent._make_request(url, method, headers=merged.copy(), payload=payload)
            jar.add_cookie_header(request)  # into the request's own copy of the headers
            merged, target = request.headers, request.url_split.quoted_uri
        else:
            target = direct.target(url)
        raw = direct.http.request(method, target, body=payload, headers=merged)
        response = FastResponse(raw, request=request, sent_request=raw._sent_request)
        got = response.headers
        if jar is not None and got is not None and ("set-cookie" in got or "set-cookie2" in got):
            if request is None:
                request = response.request = agent._make_request(url, method, headers=merged.copy(), payload=payload)
            jar.extract_cookies(response, request)
        status = response.status_code
        if status not in LocustUserAgent.valid_response_codes:
            response.release()
            # where Locust's _send_request_safe_mode puts it (FastResponse declares no such attribute)
            response.error = LocustBadStatusCode(url, code=status)  # type: ignore[attr-defined]
        return response
    except FAILURE_EXCEPTIONS as exc:
        return ErrorResponse(request or agent._make_request(url, method, headers=merged.copy(), payload=payload), exc)
