"""Personal information protection (PIPL): the resident's rights, retention, and what is shown to whom."""
