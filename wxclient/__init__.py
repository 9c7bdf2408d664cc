"""The outbound WeChat API through wechatpy: the official account, web authorisation, the mini-program.

Used by bot (menus), web (web and mini-program sign-in) and worker (messages, media); it imports
only core, so each of them may use it without importing the others.
"""
