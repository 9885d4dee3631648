"""The one exception tree of Homeloop.

    HomeloopError
    ├── ConfigError       settings a process refuses to start with (an unsafe secret)
    ├── ServiceError      a local service could not be installed, started or stopped
    ├── PayloadError      a device message that cannot be stored (ends as a dead letter)
    ├── PushUnavailable   FCM (or its OAuth token) could not be reached for a whole batch
    ├── OutputInvalid     a file we made failed its validator (a room scene): never served;
    │                     the API answers 500 and logs it for the operator
    └── DomainError       a request the domain refuses; the API maps each to problem+json
        ├── NotFound      404: no such thing, or not yours (we never say which)
        ├── Conflict      409: the state forbids it (product already claimed, ...)
        ├── Forbidden     403: authenticated, but not allowed
        ├── Unauthorized  401: no or bad credentials
        ├── Gone          410: it existed but can no longer be used (an expired handoff code)
        ├── PreconditionFailed    412: If-Match names a version that is no longer current
        ├── PreconditionRequired  428: a change to a versioned thing without If-Match
        ├── InvalidInput  422: well-formed but meaningless input
        ├── TooLarge      413: a body over its size limit (an asset upload)
        └── TooManyRequests 429: over a rate limit (Retry-After says when to retry)

Library errors (psycopg, paho, firebase) are caught at the boundary that knows what they mean and
re-raised as one of these with ``raise ... from exc``.
"""

from __future__ import annotations

from homeloop.i18n import Catalogue, Pair, Text

# A problem's title, by its stable ``code`` (RFC 9457 ``title``: the same for every problem of
# the kind, in the reader's language).
TITLES = Catalogue("errors", {
    "bad_request": ("请求有误", "Bad request"),
    "not_found": ("未找到", "Not found"),
    "conflict": ("状态冲突", "Conflict"),
    "forbidden": ("无权操作", "Forbidden"),
    "unauthorized": ("需要登录", "Unauthorized"),
    "gone": ("已失效", "Gone"),
    "precondition_failed": ("版本已变化", "Precondition failed"),
    "precondition_required": ("缺少版本条件", "Precondition required"),
    "too_many_requests": ("请求过于频繁", "Too many requests"),
    "invalid_input": ("输入无效", "Invalid input"),
    "too_large": ("内容过大", "Content too large"),
    "invalid_request": ("请求无效", "Invalid request"),
    "method_not_allowed": ("不支持该方法", "Method not allowed"),
    "service_unavailable": ("服务暂不可用", "Service unavailable"),
    "internal_error": ("内部错误", "Internal error"),
    "error": ("出错了", "Error"),
})
DETAILS = Catalogue("errors.detail", {
    "internal_error": ("我们这边出了问题，请稍后再试。", "something went wrong on our side"),
    "service_unavailable": ("服务暂时不可用，请稍后再试：{why}", "{why}"),
    "method_not_allowed": ("此处不接受 {method}；可用的方法：{allow}",
                           "{method} is not answered here; these are: {allow}"),
    "value_not_storable": ("有一个值无法按原样保存：{why}", "a value cannot be stored as given: "
                                                       "{why}"),
    "not_found": ("{what}不存在", "{what} does not exist"),
    "belongs_to_no_customer": ("{what}不属于任何客户", "{what} belongs to no customer"),
    "belongs_to_another_store": ("{what}属于另一家门店", "{what} belongs to another store"),
    "belongs_to_another_session": ("{what}属于另一家门店的会话",
                                   "{what} belongs to another store's session"),
    "not_yours": ("{what}不是您的", "{what} is not yours"),
    # a customer's own products and points (customers/)
    "product.registered_elsewhere": (
        "该产品已登记在另一位客户名下；如果产品已转手，请联系门店办理转移。",
        "this product is already registered to another customer; ask the store to transfer "
        "it if it changed hands"),
    "points.not_enough": ("您的积分已不足以兑换：需要 {points} 积分。",
                          "your points no longer cover this: it takes {points}"),
    # a customer's orders (orders/)
    "order.no_slot_to_book": ("该订单由售出门店直接履约，无需预约送货时段。",
                              "this order is fulfilled by the store that sold it: no slot to "
                              "book"),
    "order.slot_locked": ("订单{status}，不能再更改送货时段。",
                          "an order that is {status} cannot change its delivery slot"),
    "order.slot_full": ("该送货时段已满或不可选。", "that delivery slot is full or not offered"),
    "order.rate_after_installation": ("只有已完成的安装才能评价。",
                                      "only an installation that took place can be rated"),
})

# What a problem may name, by the word our code uses for it.
THINGS = {
    "product": "产品", "customer": "客户", "floor plan": "户型图", "design": "设计",
    "layout": "户型", "community": "小区", "offer": "推荐", "order": "订单", "asset": "模型",
    "SKU": "商品", "discount": "折扣", "task": "任务", "kiosk": "自助终端", "grant": "授权",
    "inbox item": "待办事项", "merge": "合并", "merge request": "合并请求", "identity": "身份",
    "staff member": "员工", "store": "门店",
}


def thing(kind: str, ident: object) -> Pair:
    """A thing by its kind and id, as each language names it ("floor plan 12", "户型图 12")."""
    return Pair(f"{THINGS[kind]} {ident}", f"{kind} {ident}")


def missing(kind: str, ident: object) -> Text:
    """"floor plan 12 does not exist": the same words for what is absent and what is not the
    reader's, so an id reveals nothing."""
    return DETAILS("not_found", what=thing(kind, ident))


class HomeloopError(Exception):
    """Base of every error Homeloop raises on purpose."""


class ConfigError(HomeloopError):
    """Said once at start-up, before the process connects anywhere."""


class ServiceError(HomeloopError):
    pass


class PayloadError(HomeloopError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PushUnavailable(HomeloopError):
    """The batch is retried later; errors about one token are outcomes, not exceptions."""


class OutputInvalid(HomeloopError):
    """Our own output is broken: a bug or bad stored data, for the operator, never the
    customer's to fix (and never a file sent to them)."""


class DomainError(HomeloopError):
    """``detail`` is a catalogue :class:`Text` (written in the reader's language; its id is the
    problem's ``code``) or, where not yet in a catalogue, an English string (the ``code`` is
    then the kind's)."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str | Text, **extra: object) -> None:
        super().__init__(str(detail))
        self.detail = detail
        self.extra = extra  # more members of the problem+json body (an asset's report)

    @property
    def title(self) -> Text:
        return TITLES(type(self).code)

    @property
    def problem_code(self) -> str:
        """Stable, for clients and tests: the text's id, else the kind's."""
        return self.detail.id if isinstance(self.detail, Text) else type(self).code


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Gone(DomainError):
    status = 410
    code = "gone"


class PreconditionFailed(DomainError):
    status = 412
    code = "precondition_failed"


class PreconditionRequired(DomainError):
    status = 428
    code = "precondition_required"


class TooManyRequests(DomainError):
    """Over a rate limit; ``retry_after`` (seconds) becomes the Retry-After header."""

    status = 429
    code = "too_many_requests"


class InvalidInput(DomainError):
    status = 422
    code = "invalid_input"


class TooLarge(DomainError):
    status = 413
    code = "too_large"
