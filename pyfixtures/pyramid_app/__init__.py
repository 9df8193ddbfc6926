"""A Pyramid app loaded by PasteDeploy (--paste development.ini), as pcreate's templates make them."""
from pyramid.config import Configurator
from pyramid.response import Response


def hello(request):
    greeting = request.registry.settings.get("greeting", "hello")
    return Response("%s from pyramid, scheme=%s\n" % (greeting, request.scheme), content_type="text/plain")


def main(global_config, **settings):
    config = Configurator(settings=settings)
    config.add_route("hello", "/")
    config.add_view(hello, route_name="hello")
    return config.make_wsgi_app()
