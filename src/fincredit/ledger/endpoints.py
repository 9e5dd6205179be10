"""The ledger API: the signed checkpoint, the public key, inclusion and consistency proofs, receipts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from fincredit.auth.service import Principal
from fincredit.errors import Forbidden
from fincredit.ledger import service
from fincredit.ledger.schemas import CheckpointOut, ConsistencyOut, InclusionProofOut, PublicKeyOut
from fincredit.web.deps import SessionDep, get_principal

router = APIRouter(prefix="/ledger", tags=["账本"])

PrincipalDep = Annotated[Principal, Depends(get_principal)]


@router.get("/checkpoint", summary="最新的已签名检查点（树大小、根哈希、时间、签名）", response_model=CheckpointOut)
def read_checkpoint(session: SessionDep) -> dict[str, Any]:
    return service.checkpoint_dict(service.current_checkpoint(session))


@router.get("/public-key", summary="检查点签名公钥", response_model=PublicKeyOut)
def read_public_key() -> dict[str, str]:
    return service.public_key_info()


def _visible_entry(session: SessionDep, index: int, principal: Principal) -> None:
    entry = service.get_entry(session, index)
    if not service.can_access(principal, entry):
        raise Forbidden("只有该账本条目的当事方和管理员可以获取其证明", code="ledger_not_a_party")


@router.get("/entries/{index}/proof", summary="条目对最新检查点的包含证明（当事方、管理员）",
            response_model=InclusionProofOut)
def read_inclusion_proof(index: int, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    _visible_entry(session, index, principal)
    return service.inclusion_proof(session, index)


@router.get("/entries/{index}/receipt", summary="可离线核验的条目回执（当事方、管理员）")
def read_receipt(index: int, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    _visible_entry(session, index, principal)
    return service.receipt(session, index)


@router.get("/consistency", summary="两个树大小之间的一致性证明", response_model=ConsistencyOut)
def read_consistency(session: SessionDep, first: int = Query(ge=0), second: int = Query(ge=0)) -> dict[str, Any]:
    return service.consistency_proof(session, first, second)
