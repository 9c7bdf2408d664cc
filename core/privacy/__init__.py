"""Personal information protection (PIPL): what is shown, to whom, and how it is masked."""
