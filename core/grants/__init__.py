"""Micro-grants (微公益项目): rounds, applications, the committee, money and progress."""
