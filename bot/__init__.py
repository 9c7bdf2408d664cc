"""The WeChat official account: callback, protocol, dialogue and replies; the outbound client."""
