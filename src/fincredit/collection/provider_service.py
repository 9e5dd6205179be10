"""Data providers (数据提供单位): registration, tokens, categories they answer for, interface endpoints."""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from fincredit.auth.service import issue_token
from fincredit.catalog.service import get_catalog
from fincredit.collection import repository
from fincredit.collection.models import Provider
from fincredit.crypto import sm4_decrypt, sm4_encrypt
from fincredit.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from fincredit.settings import get_settings

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


def provider_dict(provider: Provider) -> dict:
    return {"code": provider.code, "name": provider.name, "categories": list(provider.categories or []),
            "endpoint_url": provider.endpoint_url, "created_at": provider.created_at.isoformat()}


def require_provider(session: Session, code: str) -> Provider:
    provider = repository.get_provider(session, code)
    if provider is None:
        raise NotFound(f"数据提供单位“{code[:64]}”未登记", code="unknown_provider")
    return provider


def _check_categories(session: Session, categories: list[str]) -> list[str]:
    snapshot = get_catalog(session)
    wanted = list(dict.fromkeys(str(c).strip() for c in categories))
    if not wanted:
        raise Unprocessable("至少指定一个负责的信息类", code="no_categories")
    unknown = [c for c in wanted if c not in snapshot.categories]
    if unknown:
        raise Unprocessable(f"信息类不在当前共享清单（第 {snapshot.version} 版）中：{'、'.join(unknown[:20])}",
                            code="unknown_category", details={"unknown": unknown})
    return wanted


def register_provider(session: Session, *, code: str, name: str, categories: list[str]) -> Provider:
    """Register a provider and the categories it is responsible for (it may deliver only those)."""
    code = code.strip()
    if not CODE_RE.match(code):
        raise Unprocessable("单位编码只能包含字母、数字、下划线和连字符（1–64 位）", code="bad_provider_code")
    name = name.strip()
    if not name or len(name) > 200:
        raise Unprocessable("单位名称不能为空且不超过 200 字", code="bad_provider_name")
    wanted = _check_categories(session, categories)
    if repository.get_provider(session, code) is not None:
        raise Conflict(f"数据提供单位“{code}”已登记", code="provider_exists")
    provider = Provider(code=code, name=name, categories=wanted)
    session.add(provider)
    session.flush()
    return provider


def set_categories(session: Session, code: str, categories: list[str]) -> Provider:
    provider = require_provider(session, code)
    provider.categories = _check_categories(session, categories)
    session.flush()
    return provider


def ensure_catalog_provider(session: Session, code: str) -> tuple[Provider, bool]:
    """The provider, registered on first use when ``code`` is a responsible unit of the catalog
    (with the categories the catalog assigns to it). Used by the command line."""
    provider = repository.get_provider(session, code)
    if provider is not None:
        return provider, False
    snapshot = get_catalog(session)
    if code not in snapshot.providers:
        raise NotFound(f"数据提供单位“{code[:64]}”未登记（可用 fincredit provider add 登记）", code="unknown_provider")
    categories = [c.code for c in snapshot.categories.values() if c.provider == code]
    return register_provider(session, code=code, name=snapshot.providers[code], categories=categories), True


def issue_provider_token(session: Session, code: str, name: str | None = None) -> str:
    provider = require_provider(session, code)
    raw, _row = issue_token(session, role="provider", subject=provider.code, name=name or provider.name)
    return raw


def require_assignment(provider: Provider, category_code: str) -> None:
    if category_code not in (provider.categories or []):
        raise Forbidden(f"数据提供单位“{provider.code}”不负责信息类“{category_code}”，不能报送",
                        code="category_not_assigned")


# -- interface-call endpoints (接口调用) -------------------------------------------------------------

def loopback_allowed() -> bool:
    settings = get_settings()
    return bool(settings.allow_private_webhooks or settings.allow_loopback_providers)


def _is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast


def check_endpoint_url(url: str, *, resolve: bool = False) -> str:
    """HTTPS only; http://127.0.0.1 (loopback) only when the deployment allows it (tests, demo).

    ``resolve=True`` (at call time) also refuses host names that resolve to private addresses.
    """
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        _ = parts.port
    except ValueError:
        raise Unprocessable("接口地址格式不正确", code="bad_endpoint_url") from None
    if not host or parts.username or parts.password or len(url) > 500:
        raise Unprocessable("接口地址格式不正确（需要主机名，不得含用户名口令，不超过 500 字符）",
                            code="bad_endpoint_url")
    loopback = host in LOOPBACK_HOSTS
    if loopback and not loopback_allowed():
        raise Unprocessable("不允许使用本机回环地址作为接口地址", code="private_endpoint_refused")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise Unprocessable("接口地址必须使用 HTTPS", code="endpoint_not_https")
    if not loopback:
        addresses = [host] if _looks_like_ip(host) else []
        if resolve and not addresses:
            try:
                addresses = [info[4][0] for info in socket.getaddrinfo(host, parts.port or 443)]
            except OSError:
                raise BadRequest(f"无法解析接口主机名“{host}”", code="endpoint_unreachable") from None
        if any(_is_private(a) for a in addresses) and not get_settings().allow_private_webhooks:
            raise Unprocessable("接口地址指向内网或保留地址，不予使用", code="private_endpoint_refused")
    return url.strip()


def _looks_like_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def set_endpoint(session: Session, code: str, *, url: str, secret: str) -> Provider:
    provider = require_provider(session, code)
    if not isinstance(secret, str) or not 16 <= len(secret) <= 200:
        raise Unprocessable("接口签名密钥长度应为 16–200 个字符", code="bad_endpoint_secret")
    provider.endpoint_url = check_endpoint_url(url)
    provider.endpoint_secret_enc = sm4_encrypt(secret)
    session.flush()
    return provider


def endpoint_secret(provider: Provider) -> str | None:
    return sm4_decrypt(provider.endpoint_secret_enc) if provider.endpoint_secret_enc else None
