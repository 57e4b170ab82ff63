"""/api/sla: business-hours calendars and SLA policies (staff read, admin and manager write)."""

from flask import url_for
from flask.views import MethodView

from app.auth.guards import MANAGERS, STAFF, Blueprint, me
from app.extensions import db
from app.schemas.sla import (
    BusinessSecondsQuerySchema,
    BusinessSecondsSchema,
    DueQuerySchema,
    DueSchema,
    SlaCalendarCreateSchema,
    SlaCalendarPageSchema,
    SlaCalendarQuerySchema,
    SlaCalendarSchema,
    SlaCalendarUpdateSchema,
    SlaPolicyCreateSchema,
    SlaPolicyPageSchema,
    SlaPolicyQuerySchema,
    SlaPolicySchema,
    SlaPolicyUpdateSchema,
)
from app.services import sla_calendars, sla_policies

blp = Blueprint("sla", __name__, url_prefix="/api/sla", description="SLA calendars and policies")
# Requesters get 404 on all of it: for them there are no SLA resources.
HIDDEN = ("requester",)


def readers():
    return blp.login_required(*STAFF, hidden_from=HIDDEN)


def writers():
    return blp.login_required(*MANAGERS, hidden_from=HIDDEN)


@blp.route("/calendars")
class Calendars(MethodView):
    @readers()
    @blp.arguments(SlaCalendarQuerySchema, location="query")
    @blp.response(200, SlaCalendarPageSchema)
    def get(self, args):
        """List business-hours calendars (staff)."""
        return sla_calendars.list_calendars(args)

    @writers()
    @blp.arguments(SlaCalendarCreateSchema)
    @blp.response(201, SlaCalendarSchema)
    @blp.alt_response(409, description="Name taken")
    def post(self, data):
        """Create a business-hours calendar (admin, manager)."""
        calendar = sla_calendars.create_calendar(data)
        db.session.commit()
        return calendar, 201, {"Location": url_for("sla.Calendar", calendar_id=calendar.id)}


@blp.route("/calendars/<int:calendar_id>")
class Calendar(MethodView):
    @readers()
    @blp.versioned(SlaCalendarSchema)
    def get(self, calendar_id):
        """Get a business-hours calendar (staff)."""
        return sla_calendars.get_calendar(calendar_id)

    @writers()
    @blp.arguments(SlaCalendarUpdateSchema)
    @blp.versioned(SlaCalendarSchema, load=sla_calendars.get_calendar)
    @blp.alt_response(409, description="Name taken")
    def put(self, data, calendar_id):
        """Change a business-hours calendar (admin, manager); fields left out are unchanged."""
        calendar = sla_calendars.get_calendar(calendar_id)
        sla_calendars.update_calendar(me(), calendar, data)
        db.session.commit()
        return calendar

    patch = put  # PUT and PATCH both take partial bodies

    @writers()
    @blp.response(204)
    @blp.alt_response(409, description="Used by a policy")
    def delete(self, calendar_id):
        """Delete a business-hours calendar that no policy uses (admin, manager)."""
        sla_calendars.delete_calendar(sla_calendars.get_calendar(calendar_id))
        db.session.commit()


@blp.route("/calendars/<int:calendar_id>/due")
class CalendarDue(MethodView):
    @readers()
    @blp.arguments(DueQuerySchema, location="query")
    @blp.response(200, DueSchema)
    def get(self, args, calendar_id):
        """When a target of `minutes` business minutes from `start` is due (staff)."""
        calendar = sla_calendars.get_calendar(calendar_id)
        return sla_calendars.due(calendar, args["start"], args["minutes"])


@blp.route("/calendars/<int:calendar_id>/business-seconds")
class CalendarBusinessSeconds(MethodView):
    @readers()
    @blp.arguments(BusinessSecondsQuerySchema, location="query")
    @blp.response(200, BusinessSecondsSchema)
    def get(self, args, calendar_id):
        """The business time between `from` and `to`, in seconds (staff)."""
        calendar = sla_calendars.get_calendar(calendar_id)
        return sla_calendars.business_seconds(calendar, args["start"], args["end"])


@blp.route("/policies")
class Policies(MethodView):
    @readers()
    @blp.arguments(SlaPolicyQuerySchema, location="query")
    @blp.response(200, SlaPolicyPageSchema)
    def get(self, args):
        """List SLA policies by position, then id (staff)."""
        return sla_policies.list_policies(args)

    @writers()
    @blp.arguments(SlaPolicyCreateSchema)
    @blp.response(201, SlaPolicySchema)
    def post(self, data):
        """Create an SLA policy (admin, manager)."""
        policy = sla_policies.create_policy(me(), data)
        db.session.commit()
        return policy, 201, {"Location": url_for("sla.Policy", policy_id=policy.id)}


@blp.route("/policies/<int:policy_id>")
class Policy(MethodView):
    @readers()
    @blp.versioned(SlaPolicySchema)
    def get(self, policy_id):
        """Get an SLA policy (staff)."""
        return sla_policies.get_policy(policy_id)

    @writers()
    @blp.arguments(SlaPolicyUpdateSchema)
    @blp.versioned(SlaPolicySchema, load=sla_policies.get_policy)
    @blp.alt_response(409, description="Conditions or deactivation of the default policy")
    def put(self, data, policy_id):
        """Change an SLA policy (admin, manager); fields left out are unchanged."""
        policy = sla_policies.get_policy(policy_id)
        sla_policies.update_policy(me(), policy, data)
        db.session.commit()
        return policy

    patch = put  # PUT and PATCH both take partial bodies

    @writers()
    @blp.response(204)
    @blp.alt_response(409, description="The default policy, or tickets still on it")
    def delete(self, policy_id):
        """Delete an SLA policy other than the default (admin, manager)."""
        sla_policies.delete_policy(me(), sla_policies.get_policy(policy_id))
        db.session.commit()
