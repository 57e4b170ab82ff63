"""/api/export: incremental export of tickets (manager and admin)."""

from flask.views import MethodView

from app.auth.guards import MANAGERS, Blueprint
from app.schemas.export import ExportPageSchema, ExportQuerySchema
from app.services import export

blp = Blueprint("export", __name__, url_prefix="/api/export", description="Incremental export")


@blp.route("/tickets")
class TicketExport(MethodView):
    @blp.login_required(*MANAGERS)
    @blp.arguments(ExportQuerySchema, location="query")
    @blp.response(200, ExportPageSchema)
    @blp.alt_response(400, description="A cursor this export did not make")
    def get(self, args):
        """Tickets changed since `cursor`, in the order of their latest change, up to 1,000 a
        page; deleted ones as `{"id", "deleted": true}`. Keep `next_cursor` and poll with it:
        every ticket changed since is returned at least once, in its state at or after the
        change, also while others write."""
        return export.export_page(args.get("cursor"))
