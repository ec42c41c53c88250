"""The one error hierarchy.

Services raise subclasses of :class:`LoyaltyError`. Each has a stable ``code`` that
partners can rely on and an HTTP status that the API's exception handler uses; the
portal and the admin show ``message``.
"""


class LoyaltyError(Exception):
    code = "error"
    status = 400
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, **details):
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class ValidationError(LoyaltyError):
    code = "invalid"
    default_message = "The request is not valid."


class NotFound(LoyaltyError):
    code = "not_found"
    status = 404
    default_message = "Not found."


class Conflict(LoyaltyError):
    code = "conflict"
    status = 409
    default_message = "The request conflicts with the current state."


class InsufficientPoints(Conflict):
    code = "insufficient_points"
    default_message = "The account does not hold enough available points."


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    default_message = "This idempotency key was already used for a different request."


class NotReversible(Conflict):
    code = "not_reversible"
    default_message = "This entry cannot be reversed."


class MemberSuspended(Conflict):
    code = "member_suspended"
    default_message = "This member is suspended: no points can be earned or spent."


class MemberClosed(Conflict):
    code = "member_closed"
    default_message = "This member's account is closed."


class InvalidMemberNumber(ValidationError):
    code = "invalid_member_number"
    default_message = "This is not a valid member number: a digit is mistyped."


class IdempotencyKeyRequired(ValidationError):
    code = "idempotency_key_required"
    default_message = "Send an Idempotency-Key header with this request."


class PermissionDenied(LoyaltyError):
    code = "permission_denied"
    status = 403
    default_message = "You are not allowed to do this."


class PresenceCodeRequired(PermissionDenied):
    code = "presence_code_required"
    default_message = "Taking points from a member another partner enrolled needs the member's presence code."


class PresenceCodeInvalid(PermissionDenied):
    code = "presence_code_invalid"
    default_message = "This presence code is not the member's: ask the member for the code their portal shows."


class PresenceCodeExpired(PermissionDenied):
    code = "presence_code_expired"
    default_message = "This presence code has expired: the member can show a new one."


class PresenceCodeUsed(PermissionDenied):
    code = "presence_code_used"
    default_message = "This presence code was already used: the member can show a new one."


class PresenceCodeLocked(PermissionDenied):
    code = "presence_code_locked"
    default_message = "Too many wrong presence codes: the member must show a new one."


class InvalidReferralCode(ValidationError):
    code = "invalid_referral_code"
    default_message = "This referral code is not valid: check it with the member who gave it."


class GiftingDisabled(PermissionDenied):
    code = "gifting_disabled"
    default_message = "Gifting points is not open in this program."


class GiftRecipientUnavailable(ValidationError):
    code = "gift_recipient_unavailable"
    default_message = "No member with this number can receive points."


class GiftToSelf(ValidationError):
    code = "gift_to_self"
    default_message = "Points cannot be sent to oneself."


class GiftLimitReached(Conflict):
    code = "gift_limit_reached"
    default_message = "This gift is over the program's gifting limits."


class CampaignStatusRefused(Conflict):
    code = "campaign_status_refused"
    default_message = "The campaign cannot move to this status."


class CampaignMembersUnknown(ValidationError):
    code = "campaign_members_unknown"
    default_message = "Some member numbers of the list are not members."


class TooManyAttempts(LoyaltyError):
    code = "too_many_attempts"
    status = 429
    default_message = "Too many attempts: try again later."


class MergeRefused(Conflict):
    code = "merge_refused"
    default_message = "These two members cannot be merged."


class MemberMerged(Conflict):
    code = "member_merged"
    default_message = "This member was merged into another: use the survivor's number."


class CurrencyMismatch(ValidationError):
    code = "currency_mismatch"
    default_message = "The program counts in another currency."


class AmountMismatch(ValidationError):
    code = "amount_mismatch"
    default_message = "The items do not add up to the amount."


class ExternalIdConflict(Conflict):
    code = "external_id_conflict"
    default_message = "This external id was already posted with different content."


class ReturnExceedsPurchase(Conflict):
    code = "return_exceeds_purchase"
    default_message = "This return gives back more than is left of the purchase."


class UnknownEventType(ValidationError):
    code = "unknown_event_type"
    default_message = "No active event type has this code."


class EventNotAwaitingApproval(Conflict):
    code = "event_not_awaiting_approval"
    default_message = "This event is not awaiting approval."


class OutOfStock(Conflict):
    code = "out_of_stock"
    default_message = "This reward is out of stock."


class LimitReached(Conflict):
    code = "limit_reached"
    default_message = "The member has reached this reward's limit for now."


class NotEligible(Conflict):
    code = "not_eligible"
    default_message = "The member may not redeem this reward."


class AlreadyUsed(Conflict):
    code = "already_used"
    default_message = "This voucher was already used."


class VoucherNotUsable(Conflict):
    code = "voucher_not_usable"
    default_message = "This voucher has expired or was cancelled."


class NotCancellable(Conflict):
    code = "not_cancellable"
    default_message = "This voucher can no longer be cancelled."


class HoldNotOpen(Conflict):
    code = "hold_not_open"
    default_message = "This hold was already captured, voided or released."


class HoldOutOfRange(ValidationError):
    code = "hold_out_of_range"
    default_message = "These points are outside the share of the basket that points may pay."


class NicknameTaken(Conflict):
    code = "nickname_taken"
    default_message = "Another member of this leaderboard already uses this nickname."


class LeaderboardClosed(Conflict):
    code = "leaderboard_closed"
    default_message = "This leaderboard has ended or is not open."


class LeaderboardNotEligible(Conflict):
    code = "leaderboard_not_eligible"
    default_message = "This leaderboard is for members of another tier."


class AlreadyJoined(Conflict):
    code = "already_joined"
    default_message = "You already take part in this leaderboard."
