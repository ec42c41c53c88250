"""The partner API for purchases (``/api/v1/transactions/``): thin views, one service or selector each.

A partner posts what a member bought (``services.purchase_record``), reads its own
transactions only, and posts returns (``services.purchase_return``). What a transaction
says is one function here (``transaction_output``): its points, the breakdown of where they
come from (awards summed per source and rule, their reasons in the request's language), its
returns, and the member's balances now.
"""

from datetime import UTC, timedelta

import django_filters
from django.conf import settings
from django.urls import path, reverse
from django.utils import timezone, translation
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty.partners.fields import StrictCharField, StrictIntegerField
from loyalty.partners.pagination import CursorPagination
from loyalty.partners.rest import (
    AUTH_ERRORS,
    BODY_ERRORS,
    IDEMPOTENCY_KEY_HEADER,
    LOCATION_HEADER,
    RATE_LIMIT_HEADERS,
    error_body,
    error_responses,
    idempotent_post,
    own_or_not_found,
)
from members.numbers import member_number_clean

from . import selectors, services
from .models import AwardSource, Campaign, Outcome, Purchase, ReturnPolicy
from .reasons import reason_label

EXAMPLE_HOST = "https://loyalty.example.com"
FUTURE_SLACK = timedelta(minutes=5)  # a till's clock a little ahead is not an error
PURCHASE_OUTCOMES = (Outcome.EARNED, Outcome.NOTHING, Outcome.MEMBER_SUSPENDED, Outcome.MEMBER_CLOSED)
NOT_EARNING = {Outcome.MEMBER_SUSPENDED: "member_suspended", Outcome.MEMBER_CLOSED: "member_closed"}

TRANSACTION_PARAMETER = OpenApiParameter(
    "transaction_id", int, OpenApiParameter.PATH, description="The transaction's id (from its creation)."
)

PURCHASE_EXAMPLE = {
    "member": "1234567897",
    "external_id": "TILL-4-000123",
    "occurred_at": "2027-03-13T15:42:00+01:00",
    "amount": "84.50",
    "currency": "EUR",
    "channel": "store",
    "store": "Lyon Part-Dieu",
    "items": [
        {"sku": "COFFEE-1KG", "category": "grocery", "quantity": "2", "unit_price": "18.00"},
        {"sku": "MUG-BLUE", "category": "home", "quantity": "1", "unit_price": "12.50"},
        {"sku": "GRINDER", "category": "home", "quantity": "1", "unit_price": "40.00", "discount": "4.00"},
    ],
}
TRANSACTION_EXAMPLE = {
    "id": 4211,
    "external_id": "TILL-4-000123",
    "member": "1234567897",
    "occurred_at": "2027-03-13T14:42:00Z",
    "created_at": "2027-03-13T14:42:01Z",
    "amount": "84.50",
    "currency": "EUR",
    "channel": "store",
    "store": "Lyon Part-Dieu",
    "outcome": "earned",
    "points": 185,
    "pending_points": 185,
    "available_at": "2027-03-27T14:42:01Z",
    "returned_points": 0,
    "breakdown": [
        {"source": "base", "rule": None, "campaign": None, "points": 84, "returned_points": 0, "reason": "Base"},
        {
            "source": "campaign",
            "rule": 12,
            "campaign": 3,
            "points": 84,
            "returned_points": 0,
            "reason": "Double points weekend",
        },
        {
            "source": "tier",
            "rule": None,
            "campaign": None,
            "points": 17,
            "returned_points": 0,
            "reason": "Gold multiplier",
        },
    ],
    "returns": [],
    "balance": 1200,
    "pending": 185,
    "debt": 0,
}
RETURN_EXAMPLE = {
    "id": 77,
    "external_id": "TILL-4-R-000045",
    "transaction": 4211,
    "amount": "12.50",
    "points": 27,
    "shortfall": 0,
    "policy": "debt",
    "created_at": "2027-03-15T10:02:00Z",
    "lines": [{"position": 2, "sku": "MUG-BLUE", "quantity": "1.000", "amount": "12.50", "points": 27}],
}


# Output.


class BreakdownSerializer(serializers.Serializer):
    source = serializers.ChoiceField(
        choices=AwardSource.choices, help_text="`base` (the rate), `campaign` (a campaign's rule) or `tier`."
    )
    rule = serializers.IntegerField(allow_null=True, help_text="The campaign rule's id; null for base and tier.")
    campaign = serializers.IntegerField(allow_null=True, help_text="The campaign's id; null for base and tier.")
    points = serializers.IntegerField(help_text="The points this source gave the purchase's lines.")
    returned_points = serializers.IntegerField(help_text="Of them, the points taken back by returns.")
    reason = serializers.CharField(help_text="Where the points come from, in the request's language.")


@extend_schema_serializer(component_name="TransactionReturnLine")
class ReturnLineSerializer(serializers.Serializer):
    position = serializers.IntegerField(source="line.position", help_text="The line's position (1: the first item).")
    sku = serializers.CharField(source="line.sku", help_text="The line's SKU.")
    quantity = serializers.DecimalField(
        max_digits=12, decimal_places=3, help_text="The quantity given back (0 for a refund by amount)."
    )
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="The money of the line given back.")
    points = serializers.IntegerField(help_text="The points of the line reversed.")


@extend_schema_serializer(component_name="TransactionReturn")
class ReturnSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The return's id.")
    external_id = serializers.CharField(help_text="The partner's own id of the return.")
    transaction = serializers.IntegerField(source="purchase_id", help_text="The transaction it gives back part of.")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="The money given back.")
    points = serializers.IntegerField(help_text="The points the returned lines had earned, reversed.")
    shortfall = serializers.IntegerField(
        help_text="Of them, the points the member no longer held (already spent): owed as a debt that the next "
        "earnings pay first, or written off, as `policy` says."
    )
    policy = serializers.ChoiceField(
        choices=[*ReturnPolicy.choices, ("", "")],
        help_text="The program's return policy when the return was made: `debt` or `write_off` (empty when it "
        "reversed no points).",
    )
    created_at = serializers.DateTimeField(help_text="When the return was recorded.")


class ReturnDetailSerializer(ReturnSerializer):
    lines = ReturnLineSerializer(source="lines_given_back", many=True, help_text="What each line gave back.")


@extend_schema_serializer(component_name="Transaction")
class TransactionSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The transaction's id in this API.")
    external_id = serializers.CharField(help_text="The partner's own id of the transaction (unique per partner).")
    member = serializers.CharField(source="member.member_number", help_text="The member's card number.")
    occurred_at = serializers.DateTimeField(help_text="When the purchase was made.")
    created_at = serializers.DateTimeField(help_text="When it was recorded.")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="What the basket cost.")
    currency = serializers.CharField(help_text="The program's currency (ISO 4217).")
    channel = serializers.CharField(help_text="Where it was bought (`store`, `web`, `app`...), or empty.")
    store = serializers.CharField(help_text="The partner's store, or empty.")
    outcome = serializers.ChoiceField(
        choices=[(value, label) for value, label in Outcome.choices if value in PURCHASE_OUTCOMES],
        help_text="`earned`; `nothing` (the rules gave no point: a tiny basket); `member_suspended` or "
        "`member_closed` (recorded, earned nothing).",
    )
    points = serializers.IntegerField(help_text="The points it earned (the breakdown's sum).")
    pending_points = serializers.IntegerField(
        help_text="Of them, the points held until `available_at` (the partner's return window)."
    )
    available_at = serializers.DateTimeField(
        allow_null=True, help_text="When pending points become spendable; null when they were at once."
    )
    returned_points = serializers.IntegerField(help_text="The points its returns took back.")
    breakdown = BreakdownSerializer(many=True, help_text="Where every point comes from, in order of evaluation.")
    returns = ReturnSerializer(source="recent_returns", many=True, help_text="Its returns, newest first.")
    balance = serializers.IntegerField(source="member.account.balance", help_text="The member's spendable points now.")
    pending = serializers.IntegerField(source="member.account.pending", help_text="The member's pending points now.")
    debt = serializers.IntegerField(
        source="member.account.debt", help_text="Points the member owes (returns of spent points); 0 mostly."
    )


def transaction_output(purchase: Purchase, *, awards: list | None = None) -> dict:
    """The transaction as its partner reads it. ``awards``: the ones just written (a new purchase, no return
    yet); else the purchase's awards and returns are read (prefetched or not)."""
    if awards is not None:
        purchase.recent_returns = []
    else:
        awards = list(purchase.awards.all())
        purchase.recent_returns = list(purchase.returns.all())
    breakdown = selectors.purchase_breakdown(awards)
    names = _campaign_names_in_language({line["campaign_id"] for line in breakdown} - {None})
    purchase.breakdown = [
        {
            "source": line["source"],
            "rule": line["rule_id"],
            "campaign": line["campaign_id"],
            "points": line["points"],
            "returned_points": line["returned_points"],
            "reason": reason_label(line["reason"], _params(line, names)),
        }
        for line in breakdown
    ]
    purchase.returned_points = sum(line["returned_points"] for line in breakdown)
    return TransactionSerializer(purchase).data


def _params(line: dict, names: dict[int, str]) -> dict:
    if line["campaign_id"] in names:
        return {**line["params"], "campaign": names[line["campaign_id"]]}
    return line["params"]


def _campaign_names_in_language(campaign_ids: set[int]) -> dict[int, str]:
    """The campaigns' French names when the request reads French (one query then; none in English)."""
    if not campaign_ids or translation.get_language() != "fr":
        return {}
    rows = Campaign.objects.filter(pk__in=campaign_ids).exclude(name_fr="").values_list("pk", "name_fr")
    return dict(rows)


def _transaction_url(body: dict) -> str:
    return reverse("api-transaction-detail", args=[body["id"]])


# Purchases.


class ItemSerializer(serializers.Serializer):
    sku = StrictCharField(max_length=64, help_text="The product's SKU.")
    category = StrictCharField(max_length=64, required=False, allow_blank=True, help_text="The product's category.")
    quantity = serializers.DecimalField(
        max_digits=12, decimal_places=3, min_value=0, help_text="How many (up to 3 decimals: 0.250 kg); above 0."
    )
    unit_price = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, help_text="The price of one, before the line's discount."
    )
    discount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="A discount on the line (money off `quantity * unit_price`); it earns nothing.",
    )

    def validate_quantity(self, value):
        if value <= 0:
            raise serializers.ValidationError("A quantity is greater than zero.")
        return value


class TransactionPagination(CursorPagination):
    example_path = "/api/v1/transactions/"
    results_description = "This page's transactions, newest first."


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 moment compared in UTC: ISO allows offsets up to ±23:59, PostgreSQL ±15:59 (a 500 otherwise)."""

    def filter(self, qs, value):
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:  # a moment at the edge of year 9999 that UTC would put past it
                raise serializers.ValidationError({self.field_name: ["This moment is out of range."]}) from None
        return super().filter(qs, value)


class TransactionFilter(django_filters.FilterSet):
    member = django_filters.CharFilter(method="filter_member", help_text="Only this member's (card number).")
    external_id = django_filters.CharFilter(help_text="Only the transaction with this external id.")
    outcome = django_filters.ChoiceFilter(
        choices=[(value, label) for value, label in Outcome.choices if value in PURCHASE_OUTCOMES],
        help_text="Only transactions with this outcome.",
    )
    occurred_after = UtcDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", help_text="Only purchases made at or after this time."
    )
    occurred_before = UtcDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", help_text="Only purchases made before this time."
    )

    class Meta:
        model = Purchase
        fields = ["member", "external_id", "outcome", "occurred_after", "occurred_before"]

    def filter_member(self, queryset, name, value):
        return queryset.filter(member__member_number=member_number_clean(value))


class TransactionsApi(generics.ListAPIView):
    """``POST``: record a purchase; ``GET``: the partner's own transactions."""

    required_scopes = {"POST": "transactions:write", "GET": "transactions:read", "HEAD": "transactions:read"}
    serializer_class = TransactionSerializer
    pagination_class = TransactionPagination
    filterset_class = TransactionFilter

    @extend_schema_serializer(component_name="TransactionInput")
    class InputSerializer(serializers.Serializer):
        member = StrictCharField(max_length=32, help_text="The member's card number (10 digits).")
        external_id = StrictCharField(
            max_length=64, help_text="The partner's own id of the transaction: unique per partner."
        )
        occurred_at = serializers.DateTimeField(
            help_text="When the purchase was made, with its offset (a time without one is read in the program's "
            "time zone); at most a few minutes ahead of the server's clock."
        )
        amount = serializers.DecimalField(
            max_digits=14,
            decimal_places=2,
            help_text="What the basket cost after discounts, paid with points included; above 0.",
        )
        currency = StrictCharField(
            max_length=3, min_length=3, help_text=f"The program's currency: `{settings.LOYALTY_CURRENCY}`."
        )
        channel = StrictCharField(
            max_length=32, required=False, allow_blank=True, help_text="Where: `store`, `web`, `app`..."
        )
        store = StrictCharField(max_length=64, required=False, allow_blank=True, help_text="The partner's store.")
        discount = serializers.DecimalField(
            max_digits=14,
            decimal_places=2,
            min_value=0,
            required=False,
            help_text="A discount on the whole basket (the items add up to `amount` plus it); it earns nothing.",
        )
        points_amount = serializers.DecimalField(
            max_digits=14,
            decimal_places=2,
            min_value=0,
            required=False,
            help_text="The part of `amount` the member paid with points: it earns nothing.",
        )
        items = ItemSerializer(
            many=True,
            min_length=1,
            max_length=services.MAX_LINES,
            help_text="What was bought, in the till's order (a return names a line by its position, 1 first). "
            "They must add up to `amount` (plus `discount`) within the program's rounding tolerance.",
        )

        def validate_occurred_at(self, value):
            if value > timezone.now() + FUTURE_SLACK:
                raise serializers.ValidationError("A purchase cannot be made in the future.")
            if value < services.EARLIEST_PURCHASE:
                raise serializers.ValidationError("A purchase is from 2000 or later.")
            return value

    @extend_schema(
        operation_id="transactions_create",
        summary="Post a purchase",
        description="Records what a member bought and credits the points it earns: the base rate on what the "
        "member paid (discounts and the part paid with points earn nothing), the campaigns that apply, the "
        "member's tier multiplier (the README's *Earning* states the order and the rounding). Any partner "
        "may credit a member it names by card number. Points of a partner with a return window stay pending "
        "until `available_at`. The answer says where every point comes from (`breakdown`) and the member's "
        "balances. `external_id` is unique per partner: posting it again with the same content answers 200 "
        "with the first transaction (nothing more is credited); with other content 409 "
        "`external_id_conflict`. A suspended or closed member earns nothing: the transaction is recorded with "
        "that outcome (its `details.transaction` id can be read) and the answer is 409 `member_suspended` / "
        "`member_closed`; every other error writes nothing. Needs the `transactions:write` scope.",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER, LOCATION_HEADER, *RATE_LIMIT_HEADERS],
        responses={
            200: TransactionSerializer,
            201: TransactionSerializer,
            **error_responses(
                *BODY_ERRORS,
                "currency_mismatch",
                "amount_mismatch",
                "invalid_member_number",
                *AUTH_ERRORS,
                "not_found",
                "member_suspended",
                "member_closed",
                "member_merged",
                "external_id_conflict",
                "idempotency_conflict",
                invalid={"items": ["This list may not be empty."]},
            ),
        },
        examples=[
            OpenApiExample("Purchase", request_only=True, value=PURCHASE_EXAMPLE),
            OpenApiExample("Recorded", response_only=True, status_codes=["201"], value=TRANSACTION_EXAMPLE),
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def record():
            recorded = services.purchase_record(
                partner=request.user,
                member_number=data["member"],
                external_id=data["external_id"],
                occurred_at=data["occurred_at"],
                amount=data["amount"],
                currency=data["currency"],
                items=[
                    services.PurchaseItem(
                        sku=item["sku"],
                        category=item.get("category", ""),
                        quantity=item["quantity"],
                        unit_price=item["unit_price"],
                        discount=item.get("discount", 0),
                    )
                    for item in data["items"]
                ],
                channel=data.get("channel", ""),
                store=data.get("store", ""),
                discount_amount=data.get("discount", 0),
                points_amount=data.get("points_amount", 0),
            )
            purchase = recorded.purchase
            if purchase.outcome in NOT_EARNING:
                code = NOT_EARNING[purchase.outcome]
                message = {
                    "member_suspended": "This member is suspended: the purchase is recorded and earns nothing.",
                    "member_closed": "This member's account is closed: the purchase is recorded and earns nothing.",
                }[code]
                return 409, error_body(code, message, transaction=purchase.pk)
            return (201 if recorded.created else 200), transaction_output(purchase, awards=recorded.awards)

        return idempotent_post(request, record, location=_transaction_url)

    @extend_schema(
        operation_id="transactions_list",
        summary="List this partner's transactions",
        description="This partner's own transactions only, newest first, cursor-paginated (`next`/`previous`; "
        "`page_size` up to the cap), filterable by `member`, `external_id`, `outcome` and time "
        "(`occurred_after` included, `occurred_before` excluded). Needs the `transactions:read` scope.",
        parameters=[*RATE_LIMIT_HEADERS],
        responses={
            200: TransactionSerializer(many=True),
            **error_responses(
                "invalid",
                "invalid_member_number",
                *AUTH_ERRORS,
                invalid={"outcome": ["Select a valid choice. bogus is not one of the available choices."]},
            ),
        },
        examples=[OpenApiExample("Transactions", response_only=True, value=[TRANSACTION_EXAMPLE])],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types
            return Purchase.objects.none()
        return selectors.purchases_for_partner(partner=self.request.user)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([transaction_output(purchase) for purchase in page])


class TransactionDetailApi(APIView):
    required_scopes = {"GET": "transactions:read", "HEAD": "transactions:read"}

    @extend_schema(
        operation_id="transactions_retrieve",
        summary="Read one of this partner's transactions",
        description="Its points, their breakdown, its returns and the member's balances now. Another "
        "partner's transaction answers 404 as if it did not exist. Needs the `transactions:read` scope.",
        parameters=[TRANSACTION_PARAMETER, *RATE_LIMIT_HEADERS],
        responses={200: TransactionSerializer, **error_responses(*AUTH_ERRORS, "not_found")},
        examples=[OpenApiExample("Transaction", response_only=True, value=TRANSACTION_EXAMPLE)],
    )
    def get(self, request, transaction_id):
        purchase = own_or_not_found(
            selectors.purchases_for_partner(partner=request.user),
            "This partner has no transaction with this id.",
            pk=transaction_id,
        )
        return Response(transaction_output(purchase))


# Returns.


class ReturnItemSerializer(serializers.Serializer):
    sku = StrictCharField(max_length=64, required=False, help_text="The SKU given back (its lines in order).")
    position = StrictIntegerField(
        min_value=1, max_value=services.MAX_LINES, required=False, help_text="Or the line's position (1: first)."
    )
    quantity = serializers.DecimalField(
        max_digits=12, decimal_places=3, min_value=0, help_text="How many are given back; above 0."
    )

    def validate(self, attrs):
        if ("sku" in attrs) == ("position" in attrs):
            raise serializers.ValidationError("Name the item by its `sku` or its `position`, one of them.")
        if attrs["quantity"] <= 0:
            raise serializers.ValidationError({"quantity": ["A quantity is greater than zero."]})
        return attrs


class TransactionReturnApi(APIView):
    required_scopes = {"POST": "transactions:write"}

    @extend_schema_serializer(component_name="TransactionReturnInput")
    class InputSerializer(serializers.Serializer):
        external_id = StrictCharField(
            max_length=64, help_text="The partner's own id of the return: unique per partner."
        )
        items = ReturnItemSerializer(
            many=True,
            required=False,
            min_length=1,
            max_length=services.MAX_LINES,
            help_text="The items given back; or `amount`.",
        )
        amount = serializers.DecimalField(
            max_digits=14,
            decimal_places=2,
            min_value=0,
            required=False,
            help_text="Or the money refunded: shared over the lines in proportion to what is left of them.",
        )

        def validate(self, attrs):
            if ("items" in attrs) == ("amount" in attrs):
                raise serializers.ValidationError("Give `items` or `amount`, one of them.")
            if "amount" in attrs and attrs["amount"] <= 0:
                raise serializers.ValidationError({"amount": ["The amount must be greater than zero."]})
            return attrs

    @extend_schema_serializer(component_name="TransactionReturnResult")
    class OutputSerializer(ReturnDetailSerializer):
        balance = serializers.IntegerField(source="member_account.balance", help_text="The member's points now.")
        pending = serializers.IntegerField(source="member_account.pending", help_text="The member's pending points.")
        debt = serializers.IntegerField(source="member_account.debt", help_text="The points the member owes now.")

    @extend_schema(
        operation_id="transactions_returns_create",
        summary="Return items of a transaction, or refund an amount",
        description="Reverses exactly the points the returned lines earned (base, campaign bonuses and tier "
        "shares alike), in proportion to the quantity returned (or to the amount refunded, shared over the "
        "lines by what is left of them), as often as needed but never beyond what was bought: 409 "
        "`return_exceeds_purchase`, and nothing is written. Pending points are taken back first. If the member "
        "already spent them, the program's policy applies and is recorded (`shortfall`, `policy`): a debt that "
        "the member's next earnings pay first, or a write-off. `external_id` is unique per partner: the same "
        "return again answers 200 with the first one; other content 409 `external_id_conflict`. `Location` is "
        "the transaction's URL. Needs the `transactions:write` scope.",
        request=InputSerializer,
        parameters=[TRANSACTION_PARAMETER, IDEMPOTENCY_KEY_HEADER, LOCATION_HEADER, *RATE_LIMIT_HEADERS],
        responses={
            200: OutputSerializer,
            201: OutputSerializer,
            **error_responses(
                *BODY_ERRORS,
                *AUTH_ERRORS,
                "not_found",
                "return_exceeds_purchase",
                "member_closed",
                "external_id_conflict",
                "idempotency_conflict",
                invalid={"non_field_errors": ["Give `items` or `amount`, one of them."]},
            ),
        },
        examples=[
            OpenApiExample(
                "Return an item",
                request_only=True,
                value={"external_id": "TILL-4-R-000045", "items": [{"position": 2, "quantity": "1"}]},
            ),
            OpenApiExample(
                "Refund an amount", request_only=True, value={"external_id": "TILL-4-R-000046", "amount": "10.00"}
            ),
            OpenApiExample(
                "Returned",
                response_only=True,
                status_codes=["201"],
                value={**RETURN_EXAMPLE, "balance": 1173, "pending": 0, "debt": 0},
            ),
        ],
    )
    def post(self, request, transaction_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def give_back():
            items = data.get("items")
            recorded = services.purchase_return(
                partner=request.user,
                purchase_id=transaction_id,
                external_id=data["external_id"],
                items=None
                if items is None
                else [
                    services.ReturnItem(
                        quantity=item["quantity"], sku=item.get("sku", ""), position=item.get("position")
                    )
                    for item in items
                ],
                amount=data.get("amount"),
            )
            returned = recorded.purchase_return
            returned.member_account = recorded.account
            returned.lines_given_back = recorded.lines
            return (201 if recorded.created else 200), self.OutputSerializer(returned).data

        return idempotent_post(
            request, give_back, location=lambda body: reverse("api-transaction-detail", args=[body["transaction"]])
        )


urlpatterns = [
    path("", TransactionsApi.as_view(), name="api-transactions"),
    path("<int:transaction_id>/", TransactionDetailApi.as_view(), name="api-transaction-detail"),
    path("<int:transaction_id>/returns/", TransactionReturnApi.as_view(), name="api-transaction-returns"),
]
