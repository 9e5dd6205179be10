"""The deterministic synthetic province (合成省份): the registration base and one provider file
per catalog category, with planted risks and their ground truth (``fincredit synth``)."""

from fincredit.synth.manifest import Manifest, ManifestFile
from fincredit.synth.province import generate

__all__ = ["Manifest", "ManifestFile", "generate"]
