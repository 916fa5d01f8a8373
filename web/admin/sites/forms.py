"""The site form and the CSV import form (WTForms), beside the routes that use them; the
weekly hours are read by core.hours, the one parser."""
from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import date

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, HiddenField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
try:                                    # WTForms 3.3+; plain pairs are deprecated there
    from wtforms import SelectChoice as _choice
except ImportError:                     # pragma: no cover - older WTForms
    def _choice(value, label):
        return (value, label)
from wtforms.validators import AnyOf, DataRequired, Length, Optional, ValidationError

from core import hours, locator, places
from core.sites_import import PRESETS, format_phone, in_us, parse_map
from db.models import Site

MAX_FROM_ZIP_MILES = 100          # the import's own "far from its ZIP" threshold
DAYS = locator.DAYS
DAY_LABELS = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")))
# What a supervisor ticks: every locator kind, in the locator's order, in words.
KIND_CHOICES = {
    "naloxone": "Naloxone (Narcan) handed out",
    "syringe_services": "Syringe services / harm reduction",
    "test_strips": "Fentanyl test strips",
    "treatment": "Treatment",
    "otp": "Methadone (opioid treatment program)",
    "buprenorphine": "Buprenorphine (Suboxone)",
    "health_center": "Health center",
    "vending_machine": "Naloxone vending machine",
    "mail_order": "Naloxone by mail",
    "housing": "Reentry: housing",
    "food": "Reentry: food",
    "jobs": "Reentry: jobs",
    "id_docs": "Reentry: ID documents",
    "benefits": "Reentry: benefits",
}
assert tuple(KIND_CHOICES) == locator.KINDS, "a kind without a label (or a label without a kind)"



# -- hours (pure: core.hours, shared with peers' shifts) ------------------------------------------

parse_time = hours.parse_time
parse_day_hours = hours.parse_day
format_day_hours = hours.format_day
spill_past_midnight = hours.spill_past_midnight
_clock, _minutes = hours.hhmm, hours.minutes


def normal_phone(value: str) -> str:
    """(937) 555-0101, keeping a short extension ('x12'); ValueError when it is not a number."""
    text, warning = format_phone(value)
    if warning:
        raise ValueError(warning)
    return text


# -- forms -----------------------------------------------------------------------------------------

class DayField(DateField):
    """A date with a message a person can act on."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError("Give the date as YYYY-MM-DD, like 2025-01-15.") from None


def _hours_validator(form, field):
    try:
        parse_day_hours(field.data)
    except ValueError as exc:
        raise ValidationError(str(exc)[:1].upper() + str(exc)[1:] + ".") from None


def _phone_validator(form, field):
    if (field.data or "").strip():
        try:
            normal_phone(field.data.strip())
        except ValueError as exc:
            raise ValidationError(str(exc)[:1].upper() + str(exc)[1:] + ".") from None


def _kinds_validator(form, field):
    unknown = [k for k in field.data or () if k not in KIND_CHOICES]
    if unknown:
        raise ValidationError(f"Unknown kind {unknown[0]!r}: choose from the list.")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


_STATE_CHOICES = [_choice("", "Choose a state")] + [_choice(c, f"{c} – {n.title()}")
                                                     for c, n in sorted(places.STATES.items())]


class SiteForm(FlaskForm):
    name = StringField("Name", filters=[_strip], validators=[DataRequired("Give the site's name."), Length(max=200)])
    kinds = SelectMultipleField("What people can get here", choices=[_choice(k, v) for k, v in KIND_CHOICES.items()],
                                validate_choice=False,
                                validators=[DataRequired("Choose at least one kind of place."), _kinds_validator])
    address = StringField("Street address", filters=[_strip], validators=[
        DataRequired("Give the street address (for a van: where it parks)."), Length(max=200)])
    city = StringField("City", filters=[_strip], validators=[DataRequired("Give the city."), Length(max=100)])
    state = SelectField("State", choices=_STATE_CHOICES, validators=[DataRequired("Choose a state.")])
    zip = StringField("ZIP code", filters=[_strip], validators=[DataRequired("Give the 5-digit ZIP code.")])
    lat = StringField("Latitude", filters=[_strip])
    lon = StringField("Longitude", filters=[_strip])
    phone = StringField("Phone", filters=[_strip], validators=[Length(max=40), _phone_validator])
    mon = StringField("Monday", filters=[_strip], validators=[_hours_validator])
    tue = StringField("Tuesday", filters=[_strip], validators=[_hours_validator])
    wed = StringField("Wednesday", filters=[_strip], validators=[_hours_validator])
    thu = StringField("Thursday", filters=[_strip], validators=[_hours_validator])
    fri = StringField("Friday", filters=[_strip], validators=[_hours_validator])
    sat = StringField("Saturday", filters=[_strip], validators=[_hours_validator])
    sun = StringField("Sunday", filters=[_strip], validators=[_hours_validator])
    notes = TextAreaField("Notes", filters=[_strip], validators=[Length(max=500)])
    verified_on = DayField("Last verified", validators=[Optional()])

    today: date | None = None        # the program's date, set by the view (the future check)
    located: tuple[float, float, str | None, bool] | None = None   # lat, lon, time zone, from the ZIP?

    def validate_zip(self, field):
        m = re.fullmatch(r"(\d{5})(?:-\d{4})?", field.data or "")
        if not m:
            raise ValidationError("A ZIP code is 5 digits, like 02134 or 45402.")
        field.data = m.group(1)

    def _number(self, field, what: str, limit: int, example: str) -> float | None:
        text = (field.data or "").strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            raise ValidationError(f"{what} must be a number like {example}.") from None
        if not math.isfinite(value) or abs(value) > limit:
            raise ValidationError(f"{what} must be between -{limit} and {limit}.")
        return value

    def validate_lat(self, field):
        self._number(field, "Latitude", 90, "39.7589")

    def validate_lon(self, field):
        self._number(field, "Longitude", 180, "-84.1916")

    def validate_verified_on(self, field):
        if field.data and self.today and field.data > self.today:
            raise ValidationError("The verified date cannot be in the future.")

    def validate(self, extra_validators=None):
        # "39.7589, -84.1916" pasted into Latitude (as a map app copies it): split it.
        pair = re.fullmatch(r"\s*(-?[\d.]+)\s*[,;\s]\s*(-?[\d.]+)\s*", self.lat.data or "")
        if pair and not (self.lon.data or "").strip():
            self.lat.data, self.lon.data = pair[1], pair[2]
        ok = super().validate(extra_validators)
        ok = self._check_hours() and ok
        if not (self.lat.errors or self.lon.errors):
            ok = self._both_or_neither() and ok
            if not (self.zip.errors or self.state.errors or self.lat.errors or self.lon.errors):
                ok = self._locate() and ok
        return ok

    def _both_or_neither(self) -> bool:
        if bool(self.lat.data) == bool(self.lon.data):
            return True
        (self.lat if not self.lat.data else self.lon).errors.append(
            "Give both latitude and longitude, or leave both blank to use the ZIP code's centre.")
        return False

    def _check_hours(self) -> bool:
        if any(getattr(self, d).errors for d in DAYS):
            return False
        days = {d: parse_day_hours(getattr(self, d).data) for d in DAYS}
        if all(v is None for v in days.values()):
            return True
        if not any(days.values()):
            self.form_errors.append("Every day is closed. Leave every day blank when the hours are not "
                                    "known, or hide the site.")
            return False
        for i, d in enumerate(DAYS):
            reach, after = spill_past_midnight(days[d]), DAYS[(i + 1) % 7]
            if reach and days[after] and _minutes(days[after][0][0]) < reach:
                getattr(self, after).errors.append(
                    f"Opens at {days[after][0][0]}, before {DAY_LABELS[d]}'s hours end at {_clock(reach)}.")
                return False
        return True

    def _locate(self) -> bool:
        zip5, state = self.zip.data, self.state.data
        info = places.zip_info(zip5)
        if info and state and info["state"] != state:
            self.zip.errors.append(f"ZIP {zip5} is in {info['state']}, not {state}.")
            return False
        lat, lon = self._number(self.lat, "", 90, ""), self._number(self.lon, "", 180, "")
        centre = places.zip_point(zip5) if info else None
        if lat is None:
            if not info:
                self.zip.errors.append(f"ZIP {zip5} is not in the ZIP code list. Check it, or enter the "
                                       "latitude and longitude.")
                return False
            if not centre:
                self.lat.errors.append(f"ZIP {zip5} has no known location (a PO-box ZIP?): enter the "
                                       "latitude and longitude.")
                return False
            lat, lon = round(centre[0], 6), round(centre[1], 6)
            from_zip = True
        else:
            lat, lon, from_zip = round(lat, 6), round(lon, 6), False
            if lat == 0 and lon == 0:
                self.lat.errors.append("0, 0 is not a place: leave both blank to use the ZIP code's centre.")
                return False
            if not in_us(lat, lon):
                if in_us(lon, lat):
                    msg = (f"Latitude and longitude look swapped: latitude is north-south ({lon} here), "
                           f"longitude east-west ({lat}).")
                elif in_us(lat, -lon):
                    msg = f"Longitude in the US is west, so negative: did you mean {-lon}?"
                else:
                    msg = f"{lat}, {lon} is outside the US and its territories."
                self.lat.errors.append(msg)
                return False
            if centre:
                far = locator.haversine(lat, lon, *centre)
                if far > MAX_FROM_ZIP_MILES:
                    self.lat.errors.append(
                        f"These coordinates are {far:.0f} miles from ZIP {zip5} ({info['city']}, {info['state']}). "
                        "Check them, or leave both blank to use the ZIP code's centre.")
                    return False
        tz = info.get("timezone") if info and "/" in (info.get("timezone") or "") else None
        self.located = (lat, lon, tz or places.timezone_at(lat, lon), from_zip)
        return True

    def hours(self) -> dict | None:
        """None when every day is blank (hours not known); otherwise blank days are closed."""
        days = {d: parse_day_hours(getattr(self, d).data) for d in DAYS}
        if all(v is None for v in days.values()):
            return None
        return {d: spans for d, spans in days.items() if spans}

    def values(self) -> dict:
        """The columns a save writes (after validate()): cells always recomputed here."""
        lat, lon, tz, _ = self.located
        cell_lat, cell_lon = locator.cell_of(lat, lon)
        phone = (self.phone.data or "").strip()
        return dict(name=self.name.data[:200], kinds=" ".join(k for k in locator.KINDS if k in self.kinds.data),
                    address=self.address.data[:200], city=self.city.data[:100], state=self.state.data,
                    zip=self.zip.data, lat=lat, lon=lon, cell_lat=cell_lat, cell_lon=cell_lon,
                    phone=normal_phone(phone)[:40] if phone else "", hours=self.hours(), timezone=tz,
                    notes=" ".join((self.notes.data or "").split()), verified_on=self.verified_on.data)


def site_form_data(site: Site) -> dict:
    """What the edit form shows. Coordinates that are just the ZIP's centre show blank, so
    changing the ZIP moves the site with it."""
    data = {"name": site.name, "kinds": site.kinds.split(), "address": site.address, "city": site.city,
            "state": site.state, "zip": site.zip, "phone": site.phone, "notes": site.notes,
            "verified_on": site.verified_on, "lat": "", "lon": ""}
    centre = places.zip_point(site.zip) if site.zip else None
    if not (centre and abs(centre[0] - site.lat) < 1e-6 and abs(centre[1] - site.lon) < 1e-6):
        data["lat"], data["lon"] = f"{site.lat:.6f}".rstrip("0").rstrip("."), f"{site.lon:.6f}".rstrip("0").rstrip(".")
    for d in DAYS:
        data[d] = format_day_hours(site.hours.get(d, [])) if site.hours else ""
    return data


class ActiveForm(FlaskForm):
    active = HiddenField(validators=[AnyOf(["0", "1"])])


class ImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to upload.")])
    layout = RadioField("Columns", default="local", choices=[
        _choice("local", "Homeward's own layout (name, kinds, address, city, state, zip, lat, lon, phone, hours, "
                         "timezone, notes, verified_on)"),
        _choice("map", "Another layout, described by a column map")])
    spec = StringField("Column map", filters=[_strip], validators=[Length(max=1000)])
    verified_on = DayField("Last verified (for rows without their own date)", validators=[Optional()])

    today: date | None = None

    def validate_spec(self, field):
        if self.layout.data == "map":
            if not field.data:
                raise ValidationError("Describe the columns, like name=Site,address=Street,city=City,"
                                      "state=ST,zip=Zip,lat=Lat,lon=Lng,kinds=naloxone.")
            try:
                parse_map(field.data, "local")
            except ValueError as exc:
                raise ValidationError(str(exc).replace("--map", "The column map")) from None

    def validate_verified_on(self, field):
        if field.data and self.today and field.data > self.today:
            raise ValidationError("The verified date cannot be in the future.")

    def preset(self):
        """Uploads here are the program's own: keys 'local:…', whatever the columns."""
        if self.layout.data == "map":
            return replace(parse_map(self.spec.data, "local"), source=PRESETS["local"].source)
        return PRESETS["local"]


# -- helpers ---------------------------------------------------------------------------------------
