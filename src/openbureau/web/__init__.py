"""The pages people use: a person's score page, a partner's console, the analyst's report.

``mount(app)`` adds them to the service app. The pages are static HTML shells with a little
vanilla JS that calls the JSON API with the caller's own credentials (a person's bearer
token, a partner's key, the admin key), so every number on a page went through the same
authorisation as an API client. They are plain Starlette routes, not API operations: they
hold no data of their own and stay out of the OpenAPI document.
"""

from openbureau.web.routes import mount

__all__ = ["mount"]
