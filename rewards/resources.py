"""The catalog and the gift card pools as CSV, with django-import-export (used by the admin).

- **RewardResource**: one row per reward, found by ``code``; tiers, partners and the charity by
  name; dates in the program's time zone. Each row is checked by ``Reward.full_clean`` (the
  kind's rules, ``Reward.clean``) and ``Reward.clean_tiers``, as the admin's form does, and
  saved by ``catalog.reward_save`` (the stock by difference: from ``stock_when_exported``, the stock
  the file was exported with, when the row has it; else from the stock now). The image is exported (its
  stored name), never imported.
- **VoucherCodeResource**: the codes of one gift card reward's pool, a ``code`` column; a code
  twice in the file, already in a pool, or equal to an issued voucher's code is a row error
  (checked against the database in one query per 500 codes, not per row).

The admin imports with ``rollback_on_validation_errors``: one bad row and nothing is written.
"""

from collections import Counter
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from loyalty.clock import program_timezone
from loyalty.partners.models import Partner
from members.tiers.models import Tier

from . import catalog
from .models import Charity, Reward, RewardKind, Voucher, VoucherCode
from .services import voucher_code_normalize

NAMES_SEPARATOR = "|"
LOOKUP_BATCH = 500


class ProgramDateTimeWidget(widgets.DateTimeWidget):
    """``YYYY-MM-DD HH:MM[:SS]`` in the program's time zone, whatever time zone the request has."""

    def clean(self, value, row=None, **kwargs):
        moment = self._parse_value(value, datetime)
        if moment is None:
            return None
        return timezone.make_aware(moment, program_timezone()) if timezone.is_naive(moment) else moment

    def render(self, value, obj=None, **kwargs):
        if not value:
            return ""
        return timezone.localtime(value, program_timezone()).strftime("%Y-%m-%d %H:%M")


class NameWidget(widgets.ForeignKeyWidget):
    """A row names a related row (a charity) by name; an unknown name is the row's error, not a crash."""

    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return None
        try:
            return super().clean(str(value).strip(), row, **kwargs)
        except self.model.DoesNotExist:
            raise ValueError(
                _("No %(what)s is named “%(name)s”.") % {"what": self.model._meta.verbose_name, "name": value}
            ) from None


class NamesWidget(widgets.ManyToManyWidget):
    """Names separated by ``|``; every name must exist (the library would drop unknown ones silently)."""

    def __init__(self, model):
        super().__init__(model, separator=NAMES_SEPARATOR, field="name")

    def clean(self, value, row=None, **kwargs):
        names = {name.strip() for name in str(value or "").split(self.separator) if name.strip()}
        found = list(self.model.objects.filter(name__in=names).order_by("pk"))
        unknown = sorted(names - {item.name for item in found})
        if unknown:
            raise ValueError(
                _("Unknown %(what)s: %(names)s.")
                % {"what": self.model._meta.verbose_name_plural, "names": ", ".join(unknown)}
            )
        return found

    def render(self, value, obj=None, **kwargs):
        return self.separator.join(sorted(item.name for item in value.all())) if value is not None else ""


REWARD_COLUMNS = [
    "code",
    "kind",
    "name",
    "name_fr",
    "description",
    "description_fr",
    "points_cost",
    "value_amount",
    "percent",
    "max_discount_amount",
    "sku",
    "charity",
    "starts_at",
    "validity_days",
    "valid_until",
    "tiers",
    "partners",
    "stock",
    "limit_per_member",
    "limit_period",
    "available_from",
    "available_until",
    "cancel_window_hours",
    "refund_on_expiry",
    "active",
    "image",
]
M2M_COLUMNS = ["tiers", "partners"]
FILE_COLUMNS = [*REWARD_COLUMNS, "stock_when_exported"]  # the file's: the fields, then the stock it was read with


class RewardResource(resources.ModelResource):
    charity = fields.Field(attribute="charity", column_name="charity", widget=NameWidget(Charity, field="name"))
    tiers = fields.Field(attribute="tiers", column_name="tiers", widget=NamesWidget(Tier))
    partners = fields.Field(attribute="partners", column_name="partners", widget=NamesWidget(Partner))
    starts_at = fields.Field(attribute="starts_at", column_name="starts_at", widget=ProgramDateTimeWidget())
    available_from = fields.Field(
        attribute="available_from", column_name="available_from", widget=ProgramDateTimeWidget()
    )
    available_until = fields.Field(
        attribute="available_until", column_name="available_until", widget=ProgramDateTimeWidget()
    )
    image = fields.Field(attribute="image", column_name="image", readonly=True)
    # The stock the file was exported with: a row moves the stock by what staff changed in the file, as the
    # admin's form does, so an old file imported again does not bring back units sold since.
    stock_when_exported = fields.Field(attribute="stock", column_name="stock_when_exported", readonly=True)

    class Meta:
        model = Reward
        name = "Rewards"
        fields = FILE_COLUMNS
        import_order = FILE_COLUMNS
        export_order = FILE_COLUMNS
        import_id_fields = ["code"]
        clean_model_instances = True
        use_transactions = True
        skip_unchanged = False

    def get_queryset(self):
        return Reward.objects.select_related("charity").prefetch_related("tiers", "partners").order_by("code")

    def before_import(self, dataset, **kwargs):
        """A code on two rows would be imported twice, the second row over the first: the file is refused."""
        if "code" in (dataset.headers or []):
            counts = Counter(str(code).strip() for code in dataset["code"] if code)
            twice = [(code, count) for code, count in sorted(counts.items()) if count > 1]
            if twice:
                raise ValueError(
                    " ".join(_("The code %(code)s is on %(count)d rows.") % {"code": c, "count": n} for c, n in twice)
                )

    def import_instance(self, instance, row, **kwargs):
        """Every column of the row, the many-to-many ones checked too, their errors gathered for the page."""
        instance._stock_loaded, instance._kind_loaded = instance.stock, instance.kind
        errors = {}
        if not instance._state.adding and "stock_when_exported" in row:
            try:
                instance._stock_loaded = _stock_read(row["stock_when_exported"])
            except ValueError:
                errors["stock"] = ValidationError(
                    _("stock_when_exported must be a whole number, or empty for unlimited."), code="invalid"
                )
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        instance._import_tiers = None
        for name in M2M_COLUMNS:
            field = self.fields[name]
            if field.column_name not in row:
                continue
            try:
                chosen = field.clean(row)
            except ValueError as error:
                errors[name] = ValidationError(str(error), code="invalid")
            else:
                if name == "tiers":
                    instance._import_tiers = chosen
        if errors:
            raise ValidationError(errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """``Reward.full_clean`` and ``Reward.clean_tiers``; a column that could not be read keeps only its own
        error (the kind's rule would add that the field is empty)."""
        unread = {name: list(messages) for name, messages in (import_validation_errors or {}).items()}
        errors = dict(unread)
        try:  # (the library extends the lists it is given: give it copies)
            super().validate_instance(instance, {name: list(m) for name, m in unread.items()}, validate_unique)
        except ValidationError as error:
            errors = {**error.update_error_dict({}), **unread}
        if not instance._state.adding and instance.kind != instance._kind_loaded and "kind" not in errors:
            # as the admin's form, where the kind is read only once the reward exists
            errors["kind"] = [
                _("A reward's kind cannot change once it exists (its vouchers and pool were issued for it).")
            ]
        if "tiers" not in errors and "kind" not in errors:
            tiers = instance._import_tiers
            if tiers is None:  # no tiers column: the reward keeps its tiers
                tiers = list(instance.tiers.all()) if instance.pk else []
            try:
                instance.clean_tiers(tiers)
            except ValidationError as error:
                errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def do_instance_save(self, instance, is_create):
        catalog.reward_save(reward=instance, stock_loaded=instance._stock_loaded)


def _stock_read(value) -> int | None:
    """A stock as a file holds it: empty is unlimited, else a whole number of at least 0."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    number = int(text)
    if number < 0:
        raise ValueError(text)
    return number


class VoucherCodeResource(resources.ModelResource):
    """The pool of one gift card reward (``reward``, chosen on the import form); exports name the reward."""

    reward = fields.Field(
        attribute="reward", column_name="reward", widget=widgets.ForeignKeyWidget(Reward, "code"), readonly=True
    )
    imported_at = fields.Field(attribute="imported_at", column_name="imported_at", readonly=True)
    taken_at = fields.Field(attribute="taken_at", column_name="taken_at", readonly=True)

    class Meta:
        model = VoucherCode
        name = "Gift card codes"
        fields = ["reward", "code", "imported_at", "taken_at"]
        export_order = ["reward", "code", "imported_at", "taken_at"]
        import_id_fields = []
        clean_model_instances = True
        use_transactions = True

    def __init__(self, reward: Reward | None = None, **kwargs):
        super().__init__(**kwargs)
        self.reward = reward
        self._seen: dict[str, int] = {}
        self._taken: set[str] = set()
        self._now = timezone.now()

    def get_queryset(self):
        return VoucherCode.objects.select_related("reward").order_by("reward__code", "pk")

    def get_instance(self, instance_loader, row):
        return None  # every row is a new code: one already stored is refused, never updated

    def before_import(self, dataset, **kwargs):
        """The file's codes, normalized as tills type them; those already stored, looked up in batches."""
        dataset.headers = [str(header).strip().lower() for header in dataset.headers or []]
        if "code" not in dataset.headers:
            raise ValueError(_("The file needs a column “code”."))
        codes = sorted({voucher_code_normalize(code) for code in dataset["code"] if code})
        for start in range(0, len(codes), LOOKUP_BATCH):
            batch = codes[start : start + LOOKUP_BATCH]
            self._taken.update(VoucherCode.objects.filter(code__in=batch).values_list("code", flat=True))
            self._taken.update(Voucher.objects.filter(code__in=batch).values_list("code", flat=True))

    def import_instance(self, instance, row, **kwargs):
        instance.reward = self.reward
        instance.imported_at = self._now
        instance.code = voucher_code_normalize(row.get("code") or "")
        instance._row_number = kwargs.get("row_number")

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        if self.reward is None or self.reward.kind != RewardKind.GIFT_CARD:
            errors["reward"] = _("Codes are imported into the pool of a gift card reward.")
        code = instance.code
        if not code:
            errors["code"] = _("The code is empty.")
        elif "/" in code or not code.isprintable():  # the API's path carries the code: a "/" would split it
            errors["code"] = _("A code cannot hold “/” nor control characters: a till could not send it.")
        elif code in self._seen:
            errors["code"] = _("This code is in the file twice (first on row %(row)d).") % {"row": self._seen[code]}
        elif code in self._taken:
            errors["code"] = _("This code is already stored (in a pool or as a voucher's code).")
        self._seen.setdefault(code, instance._row_number)
        try:  # the field's own rules (its length); uniqueness is checked above, in batches
            super().validate_instance(instance, errors, validate_unique=False)
        except ValidationError as error:
            errors = error.update_error_dict({})
        if errors:
            raise ValidationError(errors)
