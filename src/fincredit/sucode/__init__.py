"""The signed 苏信码 (sucode): an enterprise's evaluation as a QR code anyone can verify (§8)."""
