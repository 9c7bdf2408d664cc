"""The page behind every checkpoint sign, /q/<code>: report a problem there, or (staff) check in."""

from __future__ import annotations

import hmac
import secrets
import uuid
from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for

from core.codes import Verdict
from core.errors import Forbidden, InvalidInput
from core.glossary import CaseSource, CoordSystem
from core.models import Checkpoint, StaffUser
from core.services.catalogue import category_tree
from core.services.checkpoints import Scanned, resolve_code
from core.services.intake import MAX_DESCRIPTION, MAX_PHOTOS, ReportInput, submit_report
from core.services.patrol import record_check_in
from core.services.privacy_consents import LOCATION, PHONE, acknowledge
from core.services.residents import resident_for_openid
from web import ratelimit, uploads
from web.context import current_context, current_store, db_session
from web.csrf import check_csrf
from web.limits import body_limit, uploads_limit
from web.links import public_url
from web.redirects import safe_next
from web.staff.auth import signed_in_staff
from wxclient.oauth import OAuth, in_wechat

blueprint = Blueprint("scan", __name__)

# A resident reports a few problems at a time; a sign is scanned by many, but not by a flood.
PER_CLIENT = {"limit": 5, "window_seconds": 600}
PER_CHECKPOINT = {"limit": 60, "window_seconds": 3600}
PHONE_CHARS = set("0123456789+- ")
OAUTH_KEY = "oauth"
OAUTH_STATE_SECONDS = 3600  # longer than any WeChat round trip; a spent state is remembered this long


def _scanned(code: str) -> Scanned:
    return resolve_code(db_session(), current_context().settings, code)


def _refuse(scanned: Scanned) -> tuple[str, int]:
    if scanned.verdict is Verdict.REPLACED:
        return render_template("scan/replaced.html", checkpoint=scanned.checkpoint), 410
    return render_template("scan/invalid.html"), 404


def _posted_to(code: str) -> tuple[Checkpoint | None, tuple[str, int] | None]:
    """The checkpoint a form POST is for, after its CSRF token; else the page that refuses the sign."""
    check_csrf()
    scanned = _scanned(code)
    if not scanned.valid or scanned.checkpoint is None:
        return None, _refuse(scanned)
    return scanned.checkpoint, None


def _wechat_sign_in(code: str) -> Any | None:
    """In WeChat, send the resident through snsapi_base once, so that updates reach them there.

    The OAuth `state` is a random value kept in this session (with the page to return to): a state
    minted for another session is refused, and each is used once (Redis remembers the spent ones,
    since a cookie session could be replayed).
    """
    settings = current_context().settings
    if not settings.has_wechat_credentials or not in_wechat(request.user_agent.string):
        return None
    if session.get("openid") or session.get("oauth_tried"):
        return None
    session["oauth_tried"] = True
    state = secrets.token_hex(16)  # WeChat allows letters and digits only, up to 128 bytes
    session[OAUTH_KEY] = {"state": state, "to": url_for("scan.sign", code=code)}
    oauth = OAuth(settings, public_url("scan.oauth_return"), state)
    return redirect(oauth.authorize_url)


def _oauth_target() -> str | None:
    """Where the WeChat return goes, if its state is this session's unspent one; else None."""
    pending, sent = session.pop(OAUTH_KEY, None), request.args.get("state", "")
    if not isinstance(pending, dict) or not sent or not hmac.compare_digest(str(pending.get("state")), sent):
        return None
    spent = current_context().redis.set(f"gongzhi:oauth-state:{sent}", 1, nx=True, ex=OAUTH_STATE_SECONDS)
    if not spent:
        return None
    return safe_next(pending.get("to"), "/")


def _form(checkpoint: Checkpoint, code: str, *, errors: list[str] | None = None, status: int = 200) -> Any:
    values = request.form if request.method == "POST" else {}
    return (
        render_template(
            "scan/form.html",
            checkpoint=checkpoint,
            code=code,
            categories=category_tree(db_session()),
            errors=errors or [],
            values=values,
            submission=values.get("submission") or uuid.uuid4().hex,
            max_photos=MAX_PHOTOS,
            privacy_version=current_context().settings.privacy_notice_version,
        ),
        status,
    )


@blueprint.get("/q/<code>")
def sign(code: str) -> Any:
    scanned = _scanned(code)
    if not scanned.valid:
        return _refuse(scanned)
    checkpoint = scanned.checkpoint
    assert checkpoint is not None
    staff = signed_in_staff()
    if staff is not None and not request.args.get("report"):
        # Opening the page records nothing: the 签到 button POSTs, with the CSRF token.
        return render_template("scan/check_in.html", checkpoint=checkpoint, staff=staff, code=code)
    return _wechat_sign_in(code) or _form(checkpoint, code)


@blueprint.post("/q/<code>/check-in")
def check_in(code: str) -> Any:
    checkpoint, refusal = _posted_to(code)
    if checkpoint is None:
        return refusal
    staff = signed_in_staff()
    if staff is None:
        return redirect(url_for("console_auth.login", next=url_for("scan.sign", code=code)), code=303)
    context = current_context()
    try:
        with context.uow() as uow:
            done = record_check_in(
                uow.session,
                uow.session.get_one(StaffUser, staff.id),
                uow.session.get_one(Checkpoint, checkpoint.id),
                source="page",
            )
            uow.commit()
            at = done.at.astimezone(context.settings.tz)
    except Forbidden as exc:
        return _form(checkpoint, code, errors=[exc.message], status=403)
    return render_template("scan/checked_in.html", checkpoint=checkpoint, staff=staff, at=at, code=code)


@blueprint.get("/wechat/oauth")
def oauth_return() -> Any:
    """WeChat sends the resident back here with a code; the openid it stands for joins the session."""
    target = _oauth_target()
    if target is None:
        return render_template("scan/invalid.html"), 404
    code = request.args.get("code")
    if code:
        settings = current_context().settings
        try:
            result = OAuth(settings, public_url("scan.oauth_return"), "").fetch_access_token(code)
            session["openid"] = result["openid"]
        except Exception:  # WeChat said no or did not answer: the page still works, without the openid
            pass
    return redirect(target)


def _report_from_form(checkpoint: Checkpoint) -> tuple[ReportInput, list[str]]:
    form, errors = request.form, []
    report = ReportInput(
        description=(form.get("description") or "").strip(),
        checkpoint_label=checkpoint.label,
        category_code=form.get("category") or None,
    )
    if len(report.description) > MAX_DESCRIPTION:
        errors.append(f"问题描述最多 {MAX_DESCRIPTION} 字")
    phone = (form.get("phone") or "").strip()
    if phone and (len(phone) > 20 or not set(phone) <= PHONE_CHARS):
        errors.append("联系电话只能包含数字")
    report.contact_phone = phone or None
    if form.get("lat") and form.get("lng"):
        try:
            report.lat, report.lng = float(form["lat"]), float(form["lng"])
            report.coord_system = CoordSystem(form.get("coord_system") or "wgs84")  # browsers give WGS-84
            report.location_label = f"{checkpoint.name}附近（手机定位）"
        except ValueError:
            errors.append("位置无效，请重新获取或使用巡查点位置")
    errors += _privacy(report)
    return report, errors


def _privacy(report: ReportInput) -> list[str]:
    """The notice the reporter agreed to by ticking the box, and the sensitive data they chose to give.

    Tapping 「使用我当前的位置」 is the separate consent to the precise position (the page says so
    beside the button), leaving a phone number the consent to its use for call-backs.
    """
    version = request.form.get("privacy_version") or ""
    current = current_context().settings.privacy_notice_version
    if not version:
        return ["请阅读并勾选同意《个人信息保护说明》后再提交"]
    if version != current:
        return ["《个人信息保护说明》已更新，请重新阅读后勾选同意"]
    scopes = [scope for scope, given in ((LOCATION, report.lat is not None), (PHONE, report.contact_phone)) if given]
    report.privacy = {"version": version, "scopes": scopes}
    return []


@blueprint.post("/q/<code>")
@body_limit(uploads_limit(MAX_PHOTOS))
def report(code: str) -> Any:
    checkpoint, refusal = _posted_to(code)
    if checkpoint is None:
        return refusal
    context = current_context()
    client = request.remote_addr or "unknown"
    if not (
        ratelimit.hit(context.redis, "scan-client", client, **PER_CLIENT)
        and ratelimit.hit(context.redis, "scan-checkpoint", str(checkpoint.id), **PER_CHECKPOINT)
    ):
        return render_template("scan/too_many.html", checkpoint=checkpoint, code=code), 429
    report_input, errors = _report_from_form(checkpoint)
    files = [f for f in request.files.getlist("photos") if f and f.filename]
    if not 1 <= len(files) <= MAX_PHOTOS:
        errors.append(f"请拍摄或选择 1 至 {MAX_PHOTOS} 张照片")
    if errors:
        return _form(checkpoint, code, errors=errors, status=400)
    store = current_store()
    try:
        report_input.uploads = uploads.save_photos(store, files).paths
    except uploads.UploadRejected as exc:
        return _form(checkpoint, code, errors=[str(exc)], status=400)
    submission = (request.form.get("submission") or "")[:64]
    try:
        with context.uow() as uow:
            openid = session.get("openid")
            resident = resident_for_openid(uow.session, openid) if openid else None
            if resident is not None and report_input.privacy:
                acknowledge(
                    uow.session,
                    context.settings,
                    resident,
                    version=str(report_input.privacy["version"]),
                    channel="scan",
                    scopes=report_input.privacy["scopes"],  # type: ignore[arg-type]
                )
            case, created = submit_report(
                uow.session,
                context.settings,
                resident=resident,
                report=report_input,
                source=CaseSource.SCAN,
                intake_key=f"scan:{submission}" if submission else None,
            )
            uow.commit()
            token = case.tracking_token
    except InvalidInput as exc:
        uploads.discard(store, report_input.uploads)
        return _form(checkpoint, code, errors=[exc.message], status=400)
    except BaseException:
        uploads.discard(store, report_input.uploads)
        raise
    if not created:
        uploads.discard(store, report_input.uploads)  # a double tap: the first submission's photos stand
    return redirect(url_for("track.show", token=token, submitted=1), code=303)
