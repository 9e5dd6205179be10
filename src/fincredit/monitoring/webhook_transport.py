"""Sending one webhook: URL safety (SSRF), Standard Webhooks signatures, the pinned HTTP request.

URL safety: ``https`` only; ``http`` only to loopback and only when the operator allows private
targets (``FINCREDIT_ALLOW_PRIVATE_WEBHOOKS``, test deployments). Every address the host name
resolves to must be public: loopback, private (RFC 1918, ULA), shared (100.64/10), link-local
(169.254/16 incl. the cloud metadata address 169.254.169.254, fe80::/10), multicast, unspecified
(0.0.0.0, ::), reserved and IPv4-mapped forms of these are refused — link-local, multicast,
unspecified and reserved even when private targets are allowed. The check runs at registration and
again at each delivery, and the request then goes to the address just checked (the host name is
kept for the Host header and TLS SNI/certificate check), so a DNS answer that changes in between
cannot redirect it. Redirects are not followed.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx
from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 — the Standard Webhooks prefix, not a secret
USER_AGENT = "fincredit-webhooks/1 (Standard Webhooks)"
MAX_URL_LENGTH = 2000
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(ValueError):
    """The URL may not receive webhooks; the message says why (Chinese)."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(os.urandom(24)).decode()


def _effective(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
    return ip


def classify(ip: IPAddress) -> str:
    """``public`` | ``loopback`` | ``private`` | ``forbidden``."""
    ip = _effective(ip)
    if ip.is_unspecified or ip.is_multicast or ip.is_link_local or ip.is_reserved:
        return "forbidden"
    if isinstance(ip, ipaddress.IPv4Address) and ip == ipaddress.IPv4Address("255.255.255.255"):
        return "forbidden"
    if ip.is_loopback:
        return "loopback"
    if ip.is_private or not ip.is_global:
        return "private"
    return "public"


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"无法解析主机名“{host}”") from exc
    out: list[IPAddress] = []
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]
        ip = ipaddress.ip_address(address)
        if ip not in out:
            out.append(ip)
    return out


@dataclass(frozen=True)
class CheckedUrl:
    parts: SplitResult
    host: str
    port: int
    addresses: list[IPAddress]


def check_url(url: str, *, allow_private: bool) -> CheckedUrl:
    """Validate a webhook URL and resolve its host; raises ``UnsafeUrl``."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"地址不能为空且不超过 {MAX_URL_LENGTH} 个字符")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UnsafeUrl("只接受 https 地址")
    if parts.username or parts.password:
        raise UnsafeUrl("地址中不能包含用户名或密码")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl("地址缺少主机名")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl("端口号无效") from None
    addresses = _resolve(host, port)
    if not addresses:
        raise UnsafeUrl(f"无法解析主机名“{host}”")
    kinds = {classify(ip) for ip in addresses}
    if "forbidden" in kinds:
        raise UnsafeUrl("地址指向链路本地、组播、未指定或保留地址（如 169.254.169.254、0.0.0.0），不能接收推送")
    if kinds & {"loopback", "private"} and not allow_private:
        raise UnsafeUrl("地址指向本机或内网地址，不能接收推送")
    if scheme == "http" and not (allow_private and kinds == {"loopback"}):
        raise UnsafeUrl("只接受 https 地址（仅测试部署允许本机 http 地址）")
    return CheckedUrl(parts, host, port, addresses)


def sign(message_id: str, timestamp: dt.datetime, body: str, secrets: list[str]) -> str:
    """``v1,<base64 HMAC-SHA256>`` per secret, space-separated (several during a rotation)."""
    return " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets)


def headers_for(message_id: str, body: str, secrets: list[str], now: dt.datetime) -> dict[str, str]:
    now = now.astimezone(dt.UTC).replace(microsecond=0)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": sign(message_id, now, body, secrets),
            "content-type": "application/json; charset=utf-8", "user-agent": USER_AGENT}


@dataclass(frozen=True)
class Outcome:
    status_code: int | None  # None: no HTTP answer (refused, timed out, unsafe)
    retry_after: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def post(url: str, body: str, headers: dict[str, str], *, allow_private: bool, timeout: float,
         now: dt.datetime) -> Outcome:
    """POST to the address checked just now (not whatever DNS answers next)."""
    try:
        checked = check_url(url, allow_private=allow_private)
    except UnsafeUrl as exc:
        return Outcome(None, error=f"unsafe_webhook_url：{exc}")
    ip = checked.addresses[0]
    ip_host = f"[{ip}]" if ip.version == 6 else str(ip)
    target = urlunsplit(checked.parts._replace(netloc=f"{ip_host}:{checked.port}"))
    host_header = checked.host if checked.parts.port is None else f"{checked.host}:{checked.port}"
    extensions = {"sni_hostname": checked.host} if checked.parts.scheme.lower() == "https" else {}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response = client.post(target, content=body.encode(), headers={**headers, "host": host_header},
                                   extensions=extensions)
    except httpx.HTTPError as exc:
        return Outcome(None, error=f"{type(exc).__name__}: {exc}"[:500])
    retry_after = parse_retry_after(response.headers.get("retry-after"), now) if response.status_code == 429 else None
    error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    return Outcome(response.status_code, retry_after, error)
