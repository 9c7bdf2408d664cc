"""Printable checkpoint signs: fonts, one sign's layout, batches on every core, and the `qr` command."""
