"""Personal information protection (PIPL): contact details encrypted at rest, masking, and the like."""
