"""Personal information protection (PIPL): notice and consent, what is shown to whom and masked, contact
details encrypted at rest, the resident's rights and retention."""
