"""The staff pages at /admin/ (twisted.web.template)."""

from meetsrv.admin.resource import AdminResource, issue_login_link

__all__ = ["AdminResource", "issue_login_link"]
