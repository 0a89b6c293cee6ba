/* page.c: the operator web page (GET /, /page/app.js, /page/app.css), embedded from src/serve/page/ at build time. */
#include <string.h>

#include "serve/srv.h"

/* The files of src/serve/page/, as the Makefile turns them into arrays ($(BUILD)/gen/page_files.c). */
extern const unsigned char srv_page_index_html[], srv_page_app_js[], srv_page_app_css[];
extern const size_t srv_page_index_html_len, srv_page_app_js_len, srv_page_app_css_len;

/* Only this server's own files, scripts and styles; the audio played from blob: URLs the page makes. */
#define CSP "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " \
            "media-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

enum MHD_Result srv_page(serve *s, struct MHD_Connection *c, const char *url) {
    const struct {
        const char *path, *type;
        const unsigned char *data;
        const size_t *len;
    } files[] = {
        {"/", "text/html; charset=utf-8", srv_page_index_html, &srv_page_index_html_len},
        {"/page/app.js", "text/javascript; charset=utf-8", srv_page_app_js, &srv_page_app_js_len},
        {"/page/app.css", "text/css; charset=utf-8", srv_page_app_css, &srv_page_app_css_len},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        if (strcmp(url, files[i].path)) continue;
        struct MHD_Response *r = MHD_create_response_from_buffer(*files[i].len, (void *)files[i].data,
                                                                 MHD_RESPMEM_PERSISTENT);
        if (!r) return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, files[i].type);
        MHD_add_response_header(r, "Content-Security-Policy", CSP);
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        return srv_queue(c, s, SRV_PAGE, MHD_HTTP_OK, r);
    }
    return srv_reply_error(c, s, SRV_PAGE, MHD_HTTP_NOT_FOUND, "not_found", NULL,
                           "no such file of the page (/, /page/app.js, /page/app.css)");
}
