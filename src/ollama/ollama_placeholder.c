/* ollama_placeholder.c - stands in until the real Ollama client lands;
 * delete this file in the commit that adds it. */
#include "ollama/ollama.h"

#include "common/wf_error.h"

int wf_ollama_new(const char *base_url, wf_ollama **out)
{
    (void)base_url;
    *out = NULL;
    return 0;
}

void wf_ollama_free(wf_ollama *ol) { (void)ol; }

int wf_ollama_version(wf_ollama *ol, int timeout_ms, char **version, char *err, size_t errlen)
{
    (void)ol; (void)timeout_ms; (void)version;
    wf_errorf(err, errlen, "the Ollama client is not built yet");
    return WF_EUNAVAIL;
}

int wf_ollama_tags(wf_ollama *ol, int timeout_ms, json_t **models, char *err, size_t errlen)
{
    (void)ol; (void)timeout_ms; (void)models;
    wf_errorf(err, errlen, "the Ollama client is not built yet");
    return WF_EUNAVAIL;
}
