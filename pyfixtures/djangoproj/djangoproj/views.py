"""Views added for Unicorn's end-to-end tests and bench/run (not part of the startproject template)."""
import hashlib

from django.http import FileResponse, HttpResponse, JsonResponse
from django.shortcuts import render
from django.middleware.csrf import get_token
from django.views.decorators.csrf import csrf_exempt


def form(request):
    """GET: a page with a CSRF token (and its cookie); POST: echoes the 'name' field (CSRF-checked)."""
    if request.method == "POST":
        return HttpResponse("hello %s" % request.POST.get("name", ""), content_type="text/plain")
    return HttpResponse('<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="%s">'
                        '<input name="name"></form>' % get_token(request))


@csrf_exempt
def upload(request):
    """Reports what arrived in request.FILES, so the test can check size and content."""
    files = {
        field: {"name": f.name, "size": f.size, "sha256": hashlib.sha256(f.read()).hexdigest()}
        for field, f in request.FILES.items()
    }
    return JsonResponse({"files": files, "note": request.POST.get("note", "")})


def download(request):
    """A FileResponse (wsgi.file_wrapper, so sendfile) of the file the test names in ?path=."""
    return FileResponse(open(request.GET["path"], "rb"), as_attachment=True)


_BENCH_ITEMS = [{"name": "apple", "price": 0.5}, {"name": "bread", "price": 2.25}, {"name": "cheese", "price": 7}]


def bench(request):
    """bench/run's `django` scenario: a short page rendered from a template through the default middleware."""
    return render(request, "bench.html", {"title": "Unicorn bench", "items": _BENCH_ITEMS})


async def async_hello(request):
    """An async view, served by Django's ASGI handler under -k asgi."""
    import asyncio
    await asyncio.sleep(0)
    return HttpResponse("async hello " + request.GET.get("name", ""), content_type="text/plain")
