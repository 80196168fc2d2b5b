package dev.strata.blockdrv.nbd.tls;

/** QEMU's {@code authz-simple}: exactly one identity is allowed. */
public record AuthzSimple(String id, String identity) implements Authorizer {

    @Override
    public boolean allows(String candidate) {
        return identity.equals(candidate);
    }
}
