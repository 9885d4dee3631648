"""What a person reads about linking and merging: Simplified Chinese first, then English.

Shown on the assistant's tablet (a link's outcome, a code request), in the customer's app (a
merge waiting for their answer), and sent by SMS (a code confirming a merge). None of it says
anything about the other record beyond the identity the reader already holds.
"""

from __future__ import annotations

__all__ = ["code_requested", "link_outcome", "merge_code_sms", "merge_request_text"]

_KIND_ZH = {"member_card": "会员卡", "phone": "手机号", "firebase": "应用账户"}
_KIND_EN = {"member_card": "member card", "phone": "phone number", "firebase": "app account"}


def _kind(kind: str) -> tuple[str, str]:
    return _KIND_ZH.get(kind, kind), _KIND_EN.get(kind, kind)


def link_outcome(kind: str, status: str) -> tuple[str, str]:
    """(zh, en) for the outcome of linking an identity: linked, merged, pending_confirmation."""
    zh, en = _kind(kind)
    if status == "merged":
        return (f"该{zh}属于您的另一条记录，已合并到此账户。",
                f"This {en} was on another record of yours: it was merged into this account.")
    if status == "pending_confirmation":
        return (f"已请求该{zh}的持有人确认；双方都确认后两条记录才会合并，在此之前不会有任何数据"
                "变动。",
                f"A confirmation was requested from the holder of this {en}; the records are "
                "merged only when both customers have confirmed, and nothing moves until then.")
    return "已绑定。", "Linked."


def merge_request_text(kind: str, hint: str, role: str) -> tuple[str, str]:
    """(zh, en) for a customer asked about a merge into (``into``) or out of their record."""
    zh, en = _kind(kind)
    if role == "into":
        return (f"有人请求将持有{zh} {hint} 的另一条会员记录合并到您的账户。确认后，该记录的"
                "产品、积分、订单等将归入您的账户，该记录的登录方式也将打开您的账户。"
                "如不是您本人操作，请拒绝。",
                f"It was asked to merge another customer record, holding the {en} {hint}, "
                "into your account: its products, points and orders would become yours, and "
                "its sign-ins would open your account. Decline if it was not you.")
    return (f"有人请求将您的这条会员记录（{zh} {hint}）合并到另一条记录。确认后，您的全部数据"
            "将归入那条记录，您的登录方式将打开那条记录。如不是您本人操作，请拒绝。",
            f"It was asked to merge this record (the {en} {hint}) into another: all your data "
            "would move there, and your sign-ins would open it. Decline if it was not you.")


def code_requested() -> tuple[str, str]:
    """(zh, en) for an assistant who asked for a code: the same whether or not one was sent."""
    return ("如果该号码是此次合并中某条记录已验证的手机号，确认码已发送到该号码。",
            "If this number is a verified phone of a record in this merge, a code was sent "
            "to it.")


def merge_code_sms(code: str, minutes: int) -> str:
    return (f"Homeloop 合并会员记录确认码：{code}，{minutes} 分钟内有效。如非本人操作，请勿"
            f"告诉他人。Homeloop code: {code} to confirm merging your customer records "
            f"(valid {minutes} min); if it was not you, tell no one.")
