package dev.strata.blockdrv.nbd.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.nbd.NbdAuthorizer;
import org.junit.jupiter.api.Test;

/**
 * The {@code -object} types for NBD's TLS: QEMU 7.2's messages for bad properties (each taken
 * from {@code qemu-nbd --object ...} on this machine), authz-simple/authz-list decisions, and the
 * client identity in QEMU's (certificate) order.
 */
class UserObjectsTest {

    private static String fails(UserObjects o, String spec) {
        return assertThrows(BlockException.class, () -> o.addFromOptionString(spec)).getMessage();
    }

    @Test
    void badObjectsGetQemusMessages() {
        UserObjects o = new UserObjects();
        assertEquals("Parameter 'qom-type' does not accept value 'nosuch'", fails(o, "nosuch,id=x"));
        assertEquals("Parameter 'identity' is missing", fails(o, "authz-simple,id=a"));
        assertEquals("Parameter 'id' is missing", fails(o, "authz-simple,identity=x"));
        assertEquals("Parameter 'verify-peer' expects 'on' or 'off'", fails(o, "tls-creds-x509,id=t,dir=/tmp,verify-peer=maybe"));
        assertEquals("Parameter 'bogus' is unexpected", fails(o, "tls-creds-x509,id=t,dir=/tmp,endpoint=server,bogus=1"));
        assertEquals("Parameter 'policy' does not accept value 'maybe'", fails(o, "authz-list,id=l,rules.0.match=x,rules.0.policy=maybe"));
        assertEquals("Parameter 'endpoint' does not accept value 'bogus'", fails(o, "tls-creds-x509,id=t,endpoint=bogus,dir=/tmp"));
        assertEquals("Missing 'dir' property value", fails(o, "tls-creds-x509,id=t,endpoint=server"));
        assertEquals("Unable to access credentials /nonexistent/ca-cert.pem: No such file or directory",
                fails(o, "tls-creds-x509,id=t,endpoint=server,dir=/nonexistent"));
        o.addFromOptionString("authz-simple,id=a1,identity=CN=x");
        assertEquals("attempt to add duplicate property 'a1' to object (type 'container')", fails(o, "authz-simple,id=a1,identity=y"));
        assertEquals("Object with id 'a1' is not TLS credentials", assertThrows(BlockException.class, () -> o.serverCredentials("a1")).getMessage());
        assertEquals("No TLS credentials with id 'nope'", assertThrows(BlockException.class, () -> o.serverCredentials("nope")).getMessage());
        o.remove("a1");
        assertEquals("object 'a1' not found", assertThrows(BlockException.class, () -> o.remove("a1")).getMessage());
    }

    @Test
    void authorizersMatchQemusIdentity() {
        assertEquals("O=Strata,CN=alice", ClientIdentity.fromRfc2253("CN=alice,O=Strata"));
        UserObjects o = new UserObjects();
        o.addFromOptionString("authz-simple,id=one,identity=O=Strata,,CN=alice");
        o.addFromOptionString("authz-list,id=list,policy=deny,rules.0.match=*CN=bob,rules.0.policy=deny,rules.0.format=glob,"
                + "rules.1.match=O=Strata*,rules.1.policy=allow,rules.1.format=glob");
        NbdAuthorizer one = o.authorizer("one");
        assertTrue(one.isAllowed("CN=alice,O=Strata"));
        assertFalse(one.isAllowed("CN=mallory,O=Strata"));
        assertFalse(one.isAllowed(null), "no certificate, no access");
        NbdAuthorizer list = o.authorizer("list");
        assertTrue(list.isAllowed("CN=carol,O=Strata"));
        assertFalse(list.isAllowed("CN=bob,O=Strata"), "the first matching rule decides");
        assertFalse(list.isAllowed("CN=dave,O=Other"), "no rule matches: the default policy");
        assertFalse(o.authorizer("missing").isAllowed("CN=alice,O=Strata"), "an authz object that does not exist denies");
    }
}
