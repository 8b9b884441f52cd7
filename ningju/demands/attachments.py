"""Photos and files of demands: which uploads are accepted, how they are stored, and how they are served.

An upload is checked twice over: its extension must be one we take, and its first bytes must be what that extension
claims (a renamed script is not a photo). Files go through the default storage (var/media on disk, or the S3 bucket
when `NINGJU_S3_BUCKET` is set) under a random name, so the path says nothing about the resident; the name the user
gave is kept on the row for display. Nothing under MEDIA_URL is routed: every file is served by `attachment_response`
after the scoping helper said the user may see its demand, and every serve is written to the audit log.
"""

import uuid
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core import scoping
from ningju.core.audit import audit
from ningju.core.errors import ApplicationError
from ningju.core.models import AuditAction, User
from ningju.demands.models import Attachment, Demand, DemandEvent

HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary Office formats (.doc, .xls)
ZIP = b"PK\x03\x04"  # the Office Open XML formats (.docx, .xlsx) are zip archives


def _jpeg(head: bytes) -> bool:
    return head.startswith(b"\xff\xd8\xff")


def _png(head: bytes) -> bool:
    return head.startswith(b"\x89PNG\r\n\x1a\n")


def _gif(head: bytes) -> bool:
    return head[:6] in (b"GIF87a", b"GIF89a")


def _webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _heif(head: bytes) -> bool:
    # An ISO media file: a box size, "ftyp", then the major brand.
    return head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS


def _pdf(head: bytes) -> bool:
    return head.startswith(b"%PDF-")


def _ole2(head: bytes) -> bool:
    return head.startswith(OLE2)


def _zip(head: bytes) -> bool:
    return head.startswith(ZIP)


# extension → (content type, is an image, what its first bytes must look like)
ACCEPTED = {
    "jpg": ("image/jpeg", True, _jpeg),
    "jpeg": ("image/jpeg", True, _jpeg),
    "png": ("image/png", True, _png),
    "gif": ("image/gif", True, _gif),
    "webp": ("image/webp", True, _webp),
    "heic": ("image/heic", True, _heif),
    "heif": ("image/heif", True, _heif),
    "pdf": ("application/pdf", False, _pdf),
    "doc": ("application/msword", False, _ole2),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", False, _zip),
    "xls": ("application/vnd.ms-excel", False, _ole2),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", False, _zip),
}
# Browsers draw these inline; HEIC they mostly cannot, so it is offered as a download.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
ACCEPT_ATTRIBUTE = ",".join(f".{extension}" for extension in ACCEPTED)
MAX_NAME = 200


def max_bytes() -> int:
    return settings.NINGJU_ATTACHMENT_MAX_MB * 1024 * 1024


@dataclass(frozen=True)
class CheckedUpload:
    extension: str
    content_type: str
    name: str


def check_upload(upload: UploadedFile) -> CheckedUpload:
    """What the upload is, or `ApplicationError` with a message naming the file and what is wrong with it."""
    name = PurePath((upload.name or "").replace("\\", "/")).name.strip() or _("未命名文件")
    extension = PurePath(name).suffix.lower().lstrip(".")
    if extension not in ACCEPTED:
        raise ApplicationError(
            _("文件“%(name)s”的类型不支持：只能上传照片（jpg、png、gif、webp、heic）、PDF或Word/Excel文件。")
            % {"name": name}
        )
    size = upload.size or 0
    if size <= 0:
        raise ApplicationError(_("文件“%(name)s”是空的。") % {"name": name})
    if size > max_bytes():
        raise ApplicationError(
            _("文件“%(name)s”超过%(max)sMB的上限。") % {"name": name, "max": settings.NINGJU_ATTACHMENT_MAX_MB}
        )
    content_type, _image, sniff = ACCEPTED[extension]
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not sniff(head):
        raise ApplicationError(
            _("文件“%(name)s”的内容与扩展名“.%(extension)s”不符，请确认文件没有损坏或被改名。")
            % {"name": name, "extension": extension}
        )
    if len(name) > MAX_NAME:
        stem = PurePath(name).stem[: MAX_NAME - len(extension) - 1]
        name = f"{stem}.{extension}"
    return CheckedUpload(extension=extension, content_type=content_type, name=name)


def attachment_add(
    *, user: User, demand: Demand, upload: UploadedFile, event: DemandEvent | None = None
) -> Attachment:
    """Store one photo or file on a demand (and on the step it came with), or raise saying why not.

    Call it inside the transaction of the step or create it belongs to, so that a refused step keeps no file row.
    """
    if not Demand.objects.filter(scoping.scope_q(user, Demand), pk=demand.pk).exists():
        raise PermissionDenied(_("您无权处理该诉求：它不在您负责的范围内。"))
    if event is not None and event.demand_id != demand.pk:
        raise ApplicationError(_("处理记录不属于该诉求。"))
    checked = check_upload(upload)
    attachment = Attachment(
        demand=demand,
        event=event,
        name=checked.name,
        content_type=checked.content_type,
        size=upload.size or 0,
        uploaded_by=user,
        uploaded_at=timezone.now(),
    )
    # A random stored name: the resident's photo "王秀英家漏水.jpg" keeps its name only on the row.
    attachment.file.save(f"{uuid.uuid4().hex}.{checked.extension}", upload, save=False)
    attachment.save(force_insert=True)
    return attachment


def is_inline_image(attachment: Attachment) -> bool:
    return attachment.content_type in INLINE_TYPES


def attachment_response(*, user: User, attachment: Attachment, inline: bool, request: HttpRequest) -> FileResponse:
    """Serve one attachment to a user who may see its demand (the caller fetched it through the scoping helper),
    writing the audit entry first. Only browser-safe images are ever shown inline; everything else downloads."""
    inline = inline and is_inline_image(attachment)
    if not attachment.file.name:
        raise Http404(_("文件不存在或已被删除。"))
    try:
        handle = attachment.file.storage.open(attachment.file.name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404(_("文件不存在或已被删除。")) from None
    audit(
        user=user,
        action=AuditAction.DOWNLOAD,
        target=attachment,
        detail={"demand": attachment.demand_id, "name": attachment.name, "inline": inline},
        request=request,
    )
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=attachment.name,
        content_type=attachment.content_type or "application/octet-stream",
    )
    # Cache-Control: no-store is set by the view (never_cache): residents' files are kept by no cache at all.
    return response
