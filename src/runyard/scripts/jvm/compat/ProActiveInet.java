/*
 * ProActive's view of the node's network address (`ProActiveInet.getInstance().getInetAddress()`): here the
 * first non-loopback IPv4 address of an interface that is up, else the loopback address.
 */
package org.objectweb.proactive.core.util;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.Collections;

public final class ProActiveInet {
    private static final ProActiveInet INSTANCE = new ProActiveInet();

    private ProActiveInet() {
    }

    public static ProActiveInet getInstance() {
        return INSTANCE;
    }

    public InetAddress getInetAddress() {
        try {
            for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!nic.isUp() || nic.isLoopback()) {
                    continue;
                }
                for (InetAddress address : Collections.list(nic.getInetAddresses())) {
                    if (address instanceof Inet4Address && !address.isLoopbackAddress()) {
                        return address;
                    }
                }
            }
        } catch (SocketException e) {
            // no interface listing: the loopback address below
        }
        return InetAddress.getLoopbackAddress();
    }

    /** The host name of that address (its address as text when it has no name). */
    public String getHostname() {
        return getInetAddress().getCanonicalHostName();
    }
}
