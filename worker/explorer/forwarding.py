"""`/api/models/{id}/ask`: a paid, signed request relayed to an inference server, so the page needs no
cross-origin access to it (the server checks payment and signature itself).

Where it goes: the inference URL the operator configured (`--inference-url`; `serve --explorer`: that
server itself), trusted as given. Without one, the endpoint the model's compute provider registered on
chain, which anyone can set: it must be plain http(s)://host[:port][/path] (no userinfo, query or
fragment), and every address its host resolves to must be public; the connection then goes to the very
address that was checked (Host header and TLS name kept), so a DNS answer that changes in between cannot
point it at loopback, a private network or a cloud metadata service. The answer is read as it streams,
at most `answer_bytes` of it, within `answer_seconds`.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from worker.serve.errors import DependencyUnavailable, ServeError


class DestinationRefused(ServeError):
    """The model's registered endpoint is not a public http(s) server: the explorer does not call it."""

    status = 403
    code = "destination_refused"


class AnswerTooLarge(ServeError):
    status = 502
    code = "answer_too_large"


@dataclass(frozen=True)
class Destination:
    url: str  # the base URL to connect to (for a checked endpoint: with the checked address as host)
    shown: str  # the base URL as registered or configured, for messages
    host: str | None = None  # the Host header (and TLS server name) when `url` names an address


def configured(url: str) -> Destination:
    return Destination(url.rstrip("/"), url.rstrip("/"))


def public_destination(endpoint: str) -> Destination:
    """A registered endpoint, checked and pinned to a public address (DestinationRefused otherwise)."""
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused(f"the model's endpoint {endpoint[:200]!r} is not an http(s) URL")
    if "?" in endpoint or "#" in endpoint or "@" in parts.netloc:
        raise DestinationRefused(
            f"the model's endpoint {endpoint[:200]!r} carries a query, fragment or user name: not called"
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        raise DependencyUnavailable(
            f"the model's endpoint host {parts.hostname!r} does not resolve ({exc}): retry later"
        ) from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for address in addresses:
        if not _public(address):
            raise DestinationRefused(
                f"the model's endpoint {parts.hostname!r} resolves to {address}, not a public address: "
                "the explorer only relays to public servers (or to --inference-url)"
            )
    pinned = str(addresses[0])
    netloc = f"[{pinned}]:{port}" if addresses[0].version == 6 else f"{pinned}:{port}"
    base = f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"
    return Destination(base, endpoint.rstrip("/"), parts.netloc)


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def relay(
    destination: Destination, path: str, body: bytes, headers: dict[str, str], max_bytes: int, seconds: float
) -> tuple[int, bytes]:
    """POST `body` to the destination; (status, answer), the answer read no further than `max_bytes`."""
    sent = dict(headers)
    extensions: dict[str, Any] = {}
    if destination.host is not None:
        sent["host"] = destination.host
        hostname = urlsplit(f"//{destination.host}").hostname
        if destination.url.startswith("https:") and hostname:
            extensions["sni_hostname"] = hostname
    try:
        async with httpx.AsyncClient(timeout=seconds, follow_redirects=False) as http:
            request = http.build_request(
                "POST", destination.url + path, content=body, headers=sent, extensions=extensions
            )
            answer = await http.send(request, stream=True)
            try:
                chunks, size = [], 0
                async for chunk in answer.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise AnswerTooLarge(
                            f"the inference server at {destination.shown} answered more than {max_bytes} "
                            "bytes: not relayed"
                        )
                    chunks.append(chunk)
            finally:
                await answer.aclose()
    except httpx.HTTPError as exc:
        raise DependencyUnavailable(
            f"the inference server at {destination.shown} did not answer ({type(exc).__name__}): retry later"
        ) from exc
    return answer.status_code, b"".join(chunks)
