"""Marshmallow request and response schemas; they also generate the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates, validates_schema

from recommender import WINDOWS
from server.fields import (
    CANONICAL_KEY_PATTERN,
    CURSOR_PATTERN,
    DayPeriod,
    FlexibleDate,
    HttpUrl,
    JsonValue,
    PaperKey,
    SafeEmail,
    SafeString,
    SaveCursor,
    StrictBoolean,
)
from server.keys import MAX_RAW_KEY_LENGTH, InvalidKey, canonical_key
from server.models import DIGEST_FREQUENCIES, EVENT_TYPES
from server.services.digest import valid_timezones
from server.services.topics import CATEGORIES, MAX_TOPICS


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


_text = SafeString(load_default="", validate=validate.Length(max=20000))
MAX_REFERENCES = 1000


class PaperMetaSchema(StrictSchema):
    """Paper metadata as the extension sends it; `key` or `url` identifies the paper."""

    key = SafeString(
        validate=validate.Length(min=1, max=MAX_RAW_KEY_LENGTH),
        metadata={"format": "paper-key", "description": "the paper's key, bare id or page URL"},
    )
    url = HttpUrl(
        metadata={
            "description": "the paper's page (http or https); for arXiv, OpenReview, DOI and Semantic Scholar "
            "papers the server shows the canonical URL derived from the key instead"
        }
    )
    title = SafeString(load_default="", validate=validate.Length(max=1000))
    abstract = _text
    authors = fields.List(
        SafeString(validate=validate.Length(max=300)), load_default=list, validate=validate.Length(max=500)
    )
    keywords = fields.List(
        SafeString(validate=validate.Length(max=100)), load_default=list, validate=validate.Length(max=100)
    )
    published_at = FlexibleDate(load_default=None, allow_none=True)
    source = SafeString(load_default="", validate=validate.Length(max=40))
    references = fields.List(
        PaperKey(),
        load_default=list,
        validate=validate.Length(max=MAX_REFERENCES),
        metadata={"description": "papers it cites: keys, URLs, arXiv ids or DOIs (stored as canonical keys)"},
    )

    @validates_schema
    def _identify(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("key") and not data.get("url"):
            raise ValidationError("Give the paper's key or its url.", "key")
        raw = data.get("key") or data["url"]
        try:
            data["canonical_key"] = canonical_key(raw)
        except InvalidKey as exc:
            raise ValidationError(str(exc), "key" if data.get("key") else "url") from None


class PaperUpdateSchema(PaperMetaSchema):
    """Optional metadata sent with a save; the key comes from the path."""

    @validates_schema
    def _identify(self, data: dict[str, Any], **_: Any) -> None:
        for name in ("key", "url"):
            raw = data.get(name)
            if raw:
                try:
                    data[f"canonical_{name}"] = canonical_key(raw)
                except InvalidKey as exc:
                    raise ValidationError(str(exc), name) from None


class EventSchema(StrictSchema):
    id = fields.UUID(required=True)
    type = SafeString(required=True, validate=validate.OneOf(EVENT_TYPES))
    paper = fields.Nested(PaperMetaSchema, required=True)
    occurred_at = FlexibleDate(required=True)
    context = fields.Dict(
        keys=SafeString(validate=validate.Length(max=50)), values=JsonValue(), load_default=None, allow_none=True
    )

    @validates("occurred_at")
    def _not_future(self, value: datetime, **_: Any) -> None:
        if value > datetime.now(UTC) + timedelta(days=1):
            raise ValidationError("occurred_at is in the future.")

    @validates("context")
    def _small_context(self, value: dict | None, **_: Any) -> None:
        if value is not None and len(value) > 20:
            raise ValidationError("context holds at most 20 entries.")


MAX_EVENTS_PER_BATCH = 500


class EventBatchSchema(StrictSchema):
    # Events are validated one by one in the view so that one bad event rejects only itself.
    events = fields.List(
        fields.Raw(
            allow_none=True,
            metadata={"description": "an Event (components/schemas/Event); anything else is rejected alone"},
        ),
        required=True,
        validate=validate.Length(min=1, max=MAX_EVENTS_PER_BATCH),
        metadata={
            "description": f"up to {MAX_EVENTS_PER_BATCH} events; each is validated on its own "
            "(see `rejected` in the result)"
        },
    )


class RejectedEventSchema(Schema):
    index = fields.Integer(metadata={"description": "position of the event in the batch"})
    errors = fields.Dict(metadata={"description": "field name -> messages (`_schema`: the event as a whole)"})


class EventBatchResultSchema(Schema):
    accepted = fields.Integer()
    duplicates = fields.Integer()
    dropped = fields.Integer(metadata={"description": "open/click events dropped while tracking is paused"})
    rejected = fields.List(fields.Nested(RejectedEventSchema))


class PaperSchema(Schema):
    key = fields.String(metadata={"format": "paper-key", "pattern": CANONICAL_KEY_PATTERN})
    title = fields.String()
    abstract = fields.String()
    authors = fields.List(fields.String())
    keywords = fields.List(fields.String())
    references = fields.List(
        fields.String(metadata={"format": "paper-key", "pattern": CANONICAL_KEY_PATTERN}),
        metadata={"description": "canonical keys of the papers it cites (only when one paper is asked for)"},
    )
    url = fields.String(allow_none=True, metadata={"format": "uri"})
    published_at = fields.DateTime(allow_none=True)
    announced_at = fields.DateTime(
        allow_none=True, metadata={"description": "when arXiv's daily feed first announced it (if it did)"}
    )
    source = fields.String()
    saved = fields.Boolean(metadata={"description": "whether the current user saved it"})
    dismissed = fields.Boolean(metadata={"description": "whether the current user dismissed it"})


class UserSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    is_admin = fields.Boolean()
    tracking_paused = fields.Boolean()
    created_at = fields.DateTime()


# The rules for a new password, at registration and at a password change.
NEW_PASSWORD = validate.Length(min=8, max=200)


class CredentialsSchema(StrictSchema):
    email = SafeEmail(required=True, validate=validate.Length(max=320))
    password = SafeString(required=True, validate=NEW_PASSWORD, load_only=True)
    token_name = SafeString(load_default="", validate=validate.Length(max=100))


class LoginSchema(CredentialsSchema):
    password = SafeString(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class TokenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    current = fields.Boolean(metadata={"description": "the token this request authenticated with"})


_CSRF_DESCRIPTION = "send as the X-CSRF-Token header with cookie-authenticated changes (not needed with a token)"


class AuthResultSchema(Schema):
    user = fields.Nested(UserSchema)
    token = fields.String(metadata={"description": "bearer token; shown only once"})
    csrf_token = fields.String(metadata={"description": _CSRF_DESCRIPTION})


class CsrfTokenSchema(Schema):
    csrf_token = fields.String(metadata={"description": _CSRF_DESCRIPTION})


class PasswordChangeSchema(StrictSchema):
    current_password = SafeString(required=True, validate=validate.Length(min=1, max=200), load_only=True)
    new_password = SafeString(required=True, validate=NEW_PASSWORD, load_only=True)


class PasswordChangeResultSchema(Schema):
    user = fields.Nested(UserSchema)
    tokens_revoked = fields.Integer(metadata={"description": "my other tokens, revoked by the change"})
    csrf_token = fields.String(metadata={"description": _CSRF_DESCRIPTION + "; the old one no longer works"})


class TokenListSchema(Schema):
    items = fields.List(fields.Nested(TokenSchema))


class SaveSchema(Schema):
    paper = fields.Nested(PaperSchema)
    saved_at = fields.DateTime()


class SavePageSchema(Schema):
    items = fields.List(fields.Nested(SaveSchema))
    next_cursor = fields.String(allow_none=True, metadata={"format": "cursor", "pattern": CURSOR_PATTERN})


class SaveBodySchema(StrictSchema):
    paper = fields.Nested(PaperUpdateSchema, load_default=None)


class PageArgsSchema(StrictSchema):
    cursor = SaveCursor(load_default=None)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class SearchArgsSchema(StrictSchema):
    q = SafeString(load_default="", validate=validate.Length(max=200))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ListArgsSchema(StrictSchema):
    window = SafeString(load_default="7d", validate=validate.OneOf(tuple(WINDOWS)))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class RecommendationArgsSchema(ListArgsSchema):
    since = DayPeriod(
        load_default=None,
        metadata={"description": "Only papers published or announced within this many days (1d to 30d): new for you."},
    )


class ComponentsSchema(Schema):
    cf = fields.Float()
    cooccurrence = fields.Float()
    text = fields.Float()
    trend = fields.Float()


class ListItemSchema(Schema):
    paper = fields.Nested(PaperSchema)
    score = fields.Float()
    components = fields.Nested(ComponentsSchema)
    reasons = fields.List(fields.String())


class ListResultSchema(Schema):
    items = fields.List(fields.Nested(ListItemSchema))
    window = fields.String()
    source = fields.String(metadata={"description": "what produced the list (model version, or a fallback)"})


class PaperListSchema(Schema):
    items = fields.List(fields.Nested(PaperSchema))


class TrackingSchema(StrictSchema):
    paused = StrictBoolean(required=True)


class DismissalSchema(Schema):
    paper = fields.Nested(PaperSchema)
    dismissed_at = fields.DateTime()


class ResetResultSchema(Schema):
    interactions_removed = fields.Integer()
    dismissals_removed = fields.Integer()


class FeedUrlSchema(Schema):
    list = fields.String(metadata={"description": "for-you, new or saved"})
    title = fields.String()
    url = fields.String(metadata={"format": "uri", "description": "the Atom feed; it carries my feed token"})


class FeedUrlsSchema(Schema):
    feeds = fields.List(fields.Nested(FeedUrlSchema))


class ExportArgsSchema(StrictSchema):
    format = SafeString(load_default="bibtex", validate=validate.OneOf(("bibtex", "csv", "json")))


class ImportArgsSchema(StrictSchema):
    format = SafeString(
        load_default=None,
        validate=validate.OneOf(("bibtex", "csv", "ris")),
        metadata={"description": "the file's format; without it, told from the file name or its content"},
    )


class ImportedItemSchema(Schema):
    entry = fields.Integer(metadata={"description": "the entry's position in the file (1 for the first)"})
    key = fields.String(metadata={"format": "paper-key", "pattern": CANONICAL_KEY_PATTERN})
    title = fields.String()
    already_saved = fields.Boolean()


class SkippedItemSchema(Schema):
    entry = fields.Integer()
    label = fields.String(metadata={"description": "the entry's citation key or title"})
    reason = fields.String()


class ImportReportSchema(Schema):
    format = fields.String()
    entries = fields.Integer(metadata={"description": "entries in the file"})
    newly_saved = fields.Integer(metadata={"description": "papers saved now that were not saved before"})
    matched = fields.List(fields.Nested(ImportedItemSchema), metadata={"description": "papers already known"})
    created = fields.List(fields.Nested(ImportedItemSchema), metadata={"description": "papers new to the catalog"})
    skipped = fields.List(fields.Nested(SkippedItemSchema))


class SeenArgsSchema(StrictSchema):
    before = FlexibleDate(
        load_default=None,
        metadata={"description": "count only opens before this moment (default: now), e.g. to leave out this visit"},
    )


class SeenSchema(Schema):
    key = fields.String(metadata={"format": "paper-key", "pattern": CANONICAL_KEY_PATTERN})
    last_opened_at = fields.DateTime(
        allow_none=True, metadata={"description": "my latest open of it (on any site) or click on it in a list"}
    )
    times_opened = fields.Integer(metadata={"description": "my opens and clicks of it"})
    saved_at = fields.DateTime(allow_none=True, metadata={"description": "when I saved it (null: not saved)"})


class TopicsSchema(StrictSchema):
    topics = fields.List(
        SafeString(validate=validate.OneOf(tuple(CATEGORIES))),
        required=True,
        validate=validate.Length(max=MAX_TOPICS),
        metadata={"description": "arXiv categories (e.g. cs.CL); the offered ones are listed in docs/web.md"},
    )


class DigestSettingsSchema(StrictSchema):
    """My digest email: how often, at which hour of my day, in which IANA time zone (docs/digest.md)."""

    frequency = fields.String(
        required=True,
        validate=validate.OneOf(DIGEST_FREQUENCIES),
        metadata={"description": "off, daily (each local day) or weekly (each ISO week, from Monday)"},
    )
    hour = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=23),
        metadata={"description": "local hour from which the digest may go out (0-23); left out: unchanged"},
    )
    timezone = SafeString(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "IANA time zone such as Europe/Berlin; left out: unchanged", "example": "UTC"},
    )
    last_sent_at = fields.DateTime(dump_only=True, allow_none=True, metadata={"description": "the last digest sent"})

    @validates("hour")
    def _not_a_boolean(self, value: Any, **_: Any) -> None:
        if isinstance(value, bool):
            raise ValidationError("Not a valid integer.")

    @validates("timezone")
    def _known_zone(self, value: str, **_: Any) -> None:
        if value not in valid_timezones():
            raise ValidationError(f"Unknown time zone {value[:64]!r}: give an IANA name such as Europe/Berlin or UTC.")
