-- POST a 64 KiB body; the app answers with its length (65536).
wrk.method = "POST"
wrk.body = string.rep("x", 65536)
wrk.headers["Content-Type"] = "application/octet-stream"
