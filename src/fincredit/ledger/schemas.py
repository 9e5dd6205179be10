"""Response models of the ledger API (for the OpenAPI document)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class SignatureOut(BaseModel):
    alg: str = Field(examples=["Ed25519"])
    kid: str
    sig: str = Field(description="base64 signature over merkle.checkpoint_message(...)")


class CheckpointOut(BaseModel):
    origin: str
    size: int = Field(description="tree size (number of entries)")
    root: str = Field(description="root hash, hex")
    timestamp: str = Field(description="UTC, RFC 3339")
    hash_alg: str = Field(examples=["sm3"])
    signature: SignatureOut


class PublicKeyOut(BaseModel):
    alg: str = Field(examples=["Ed25519"])
    kid: str
    key: str = Field(description="raw public key, base64")


class InclusionProofOut(BaseModel):
    index: int
    entry_b64: str = Field(description="the canonical entry bytes the leaf hash covers")
    entry: dict[str, Any]
    leaf_hash: str
    inclusion_proof: list[str] = Field(description="RFC 9162 audit path, leaf side first, hex")
    tree_size: int
    hash_alg: str
    checkpoint: CheckpointOut


class ConsistencyOut(BaseModel):
    first: int
    second: int
    hash_alg: str
    first_root: str
    second_root: str
    proof: list[str]
    first_checkpoint: CheckpointOut | None
    second_checkpoint: CheckpointOut | None
