"""Checkpoint codes and printable signs (qrcode + Pillow); built out by the checkpoint issue."""
