"""Microsoft half of the sandbox tenant: Entra ID v2 login + the Graph v1.0 subset we use.

One Flask app (``make_graph_app(state)``; ``app.tenant`` is the contract's ``sb.graph``) served
over TLS on 127.0.0.1 by ``serve.GraphServer`` with a CA from ``integrator.sandbox.tls``.

Client recipe (verified with msgraph-sdk 1.65, msgraph-core 1.5.2, kiota 1.16, azure-identity
1.27, httpx 0.28). The product's Microsoft provider builds its client like this; in production
drop the four sandbox-only arguments marked below and everything else stays the same::

    import ssl
    import httpx
    from azure.identity import ClientSecretCredential        # or CertificateCredential
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.graph_request_adapter import options as graph_middleware_options
    from msgraph_core import GraphClientFactory
    from msgraph_core.authentication import AzureIdentityAuthenticationProvider

    credential = ClientSecretCredential(
        tenant_id, client_id, client_secret,
        authority=sb.login_authority,           # sandbox only: "https://127.0.0.1:<port>"
        disable_instance_discovery=True,         # sandbox only: else MSAL asks login.microsoftonline.com
        connection_verify=sb.ca_cert_path,       # sandbox only: trust the CA for this credential alone
    )
    # CertificateCredential(tenant_id, client_id, certificate_data=key_pem + cert_pem, <same three>)
    http_client = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=sb.ca_cert_path)),  # sandbox only
        options=graph_middleware_options,        # the SDK's own defaults (/me rewrite, telemetry)
    )
    auth = AzureIdentityAuthenticationProvider(
        credential,
        scopes=["https://graph.microsoft.com/.default"],   # always explicit: never derived from the host
        allowed_hosts=["127.0.0.1"],             # sandbox only: default list holds only Microsoft clouds,
    )                                            # and a host outside it silently gets NO token
    adapter = GraphRequestAdapter(auth, client=http_client)
    adapter.base_url = sb.graph_url              # sandbox only: set BEFORE GraphServiceClient(...)
    client = GraphServiceClient(request_adapter=adapter)
    ...
    await http_client.aclose(); credential.close()

Notes for the provider, all seen against this emulator:

- httpx 0.28 deprecates ``verify=<path>`` (a DeprecationWarning, an error under our pytest
  settings): pass an ``ssl.SSLContext``. Never trust the CA process-wide (no REQUESTS_CA_BUNDLE,
  SSL_CERT_FILE): azure-identity takes ``connection_verify`` per credential.
- kiota's RetryHandler retries 429/503/504 for every method, POST included, honouring
  Retry-After (below 180 s). Give ``sendMail`` ``RequestConfiguration(options=[RetryHandlerOption(
  max_retries=0, should_retry=False)])`` so a letter is never sent twice, and let our own retry
  policy decide.
- ``$batch``: build items from ``...to_get/to_post_request_information()`` (relative URLs such as
  ``/users/{id}/events``; an absolute or ``/v1.0/``-prefixed item URL gets 400 "Resource not
  found for the segment", as on Graph). Add items one at a time (``BatchRequestContent`` rejects
  a list of 20);
  ``BatchResponseContent.get_response_status_codes()`` works, but item bodies that are JSON
  objects (what Graph sends for JSON) come back as ``body is None`` and ``response_body()`` fails
  (kiota-serialization-json 1.16 reads them as base64 only: microsoft/kiota-python#737), so post
  ``await client.batch.to_post_request_information(content)`` with
  ``adapter.send_primitive_async(info, "bytes", None)`` and parse each item's ``body`` with
  kiota's ``JsonParseNodeFactory``. msgraph-core serialises ``dependsOn`` as ``depends_on``,
  which Graph (and this sandbox) ignore. msgraph-core's batch modules import ``deprecated``.
  Outlook allows 4 concurrent requests per mailbox: parallel items (no ``dependsOn``) beyond 4 for
  one mailbox get 429 ApplicationThrottled (``sb.graph.mailbox_concurrency``, None = off).
- Teams: resolve an event's ``onlineMeeting.joinUrl`` with
  ``users/{organiser}/onlineMeetings?$filter=JoinWebUrl eq '<url>'``; it and attendance reports
  answer 403 until the organiser has the Teams application access policy.
- Tokens expire by the wall clock (1 h), not the sandbox clock: advancing the sandbox clock by a
  week does not invalidate a cached token.
"""

from integrator.sandbox.graph.app import GraphApp, make_graph_app
from integrator.sandbox.graph.tenant import GraphTenant

__all__ = ["GraphApp", "GraphTenant", "make_graph_app"]
