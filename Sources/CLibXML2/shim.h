#ifndef RBSCAN_CLIBXML2_SHIM_H
#define RBSCAN_CLIBXML2_SHIM_H
#include <libxml/xmlversion.h>
/* Debian builds libxml2 with ICU; its <unicode/*.h> clash with Foundation's _FoundationICU.
   Hiding the ICU tail of xmlCharEncodingHandler avoids that (never allocate that struct here). */
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <libxml/xmlerror.h>

static inline void rb_xmlFree(void *p) { xmlFree(p); }
static inline int rb_nodeset_len(xmlNodeSetPtr ns) { return xmlXPathNodeSetGetLength(ns); }
static inline xmlNodePtr rb_nodeset_item(xmlNodeSetPtr ns, int i) { return xmlXPathNodeSetItem(ns, i); }
/* libxml2 reports errors through a global callback; a no-op handler keeps them off stderr.
   Errors are read back with xmlGetLastError / xmlCtxtGetLastError instead. */
static void rb_xml_silent(void *ctx, const char *msg, ...) { (void)ctx; (void)msg; }
static inline void rb_xml_silence(void) {
    xmlSetGenericErrorFunc(NULL, rb_xml_silent);
    xmlSetStructuredErrorFunc(NULL, NULL);
}
#endif
