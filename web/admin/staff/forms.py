"""The staff, password and settings forms (WTForms) and the shift text they read, beside the
routes that use them."""
from __future__ import annotations

import phonenumbers
from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from core import hours

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ROLES = (("peer", "Peer"), ("supervisor", "Supervisor"), ("admin", "Admin"))


# -- shifts (pure) -------------------------------------------------------------------------------

def parse_day(text: str) -> list[list[str]]:
    """'09:00-13:00, 2pm-5:30pm' -> [["09:00","13:00"], ["14:00","17:30"]]; '' -> []. In the
    program's local time (core.hours, the sites' parser); a shift past midnight is two:
    '22:00-24:00' and the next day's '00:00-06:00'."""
    return hours.parse_day(text, overnight=False) or []


def format_day(spans) -> str:
    return ", ".join(f"{a}-{b}" for a, b in spans or [])


def shift_summary(shift: dict | None) -> str:
    if not shift:
        return "no shift: off duty"
    days = [f"{d.title()} {format_day(shift[d])}" for d in DAYS if shift.get(d)]
    return "; ".join(days) or "never on shift"


# -- forms ---------------------------------------------------------------------------------------

def _shift_validator(form, field):
    try:
        parse_day(field.data)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


PHONE_ERROR = ("That is not a phone number we can text. Write it with the area code, like (312) 555-0100, "
               "or with the country code, like +44 7911 123456.")


def _phone_validator(form, field):
    """Blank, or a number that can get texts, kept in E.164 (+13125550100)."""
    text = (field.data or "").strip()
    if not text:
        field.data = None
        return
    try:
        number = phonenumbers.parse(text, "US")
    except phonenumbers.NumberParseException:
        raise ValidationError(PHONE_ERROR) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(PHONE_ERROR)
    field.data = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class StaffForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = StringField("Email", validators=[
        DataRequired(), Length(max=254),
        Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="That is not an email address.")])
    role = SelectField("Role", choices=dict(ROLES), default="peer")
    capacity = IntegerField("Open tickets before auto-assignment skips them", default=25,
                            validators=[NumberRange(0, 500)])
    active = BooleanField("Active (can sign in)", default=True)
    phone = StringField("Own phone, for urgent alerts by text (optional)",
                        validators=[Length(max=40), _phone_validator])
    mon = StringField("Monday", validators=[_shift_validator])
    tue = StringField("Tuesday", validators=[_shift_validator])
    wed = StringField("Wednesday", validators=[_shift_validator])
    thu = StringField("Thursday", validators=[_shift_validator])
    fri = StringField("Friday", validators=[_shift_validator])
    sat = StringField("Saturday", validators=[_shift_validator])
    sun = StringField("Sunday", validators=[_shift_validator])

    def shift(self) -> dict | None:
        """None (no shift: off duty, never auto-assigned or alerted) when every day is blank."""
        spans = {d: parse_day(getattr(self, d).data) for d in DAYS}
        return {d: s for d, s in spans.items() if s} or None


class PasswordForm(FlaskForm):
    """Just the CSRF token: the new password is generated."""


class SettingsForm(FlaskForm):
    program_name = StringField("Program name (texts say it as {program})", validators=[DataRequired(), Length(max=40)])
    contact_en = StringField("Contact line, English", validators=[Optional(), Length(max=120)])
    contact_es = StringField("Contact line, Spanish", validators=[Optional(), Length(max=120)])
    coverage_en = StringField("When peers answer, English ({coverage})", validators=[DataRequired(), Length(max=60)])
    coverage_es = StringField("When peers answer, Spanish", validators=[DataRequired(), Length(max=60)])
    sla_urgent = IntegerField("Urgent", validators=[InputRequired(), NumberRange(1, 10080)])
    sla_high = IntegerField("High", validators=[InputRequired(), NumberRange(1, 10080)])
    sla_normal = IntegerField("Normal", validators=[InputRequired(), NumberRange(1, 10080)])
    sender_rate = FloatField("Texts per second, at most", validators=[InputRequired(), NumberRange(0.05, 100)])
    sender_daily_cap = IntegerField("Texts per day, at most (blank: no cap)",
                                    validators=[Optional(), NumberRange(1, 1_000_000)])

    def validate_sla_normal(self, field):
        if None not in (self.sla_urgent.data, self.sla_high.data, field.data) and \
                not self.sla_urgent.data <= self.sla_high.data <= field.data:
            raise ValidationError("Targets must not shrink as priority drops: urgent ≤ high ≤ normal.")
