package dev.strata.blockdrv.nbd.tls;

/**
 * An {@code authz-*} object: decides whether a client identity (see {@link ClientIdentity}) may
 * connect. Immutable implementations; any thread.
 */
public sealed interface Authorizer permits AuthzSimple, AuthzList {

    String id();

    boolean allows(String identity);
}
