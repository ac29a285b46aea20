// getLead by email with JAX-WS stubs (wsimport), against mktows or any Marketo SOAP 2_x endpoint.
// build.sh generates the stubs (package com.marketo.mktows) from the served WSDL and compiles this file:
//
//   MKTOWS_ENDPOINT=http://127.0.0.1:8080/soap/mktows/2_9 MKTOWS_USER_ID=... MKTOWS_ENCRYPTION_KEY=... \
//   sh build.sh out && java -cp out:/usr/share/java/jaxws-rt.jar GetLead ada@example.com

import com.marketo.mktows.Attribute;
import com.marketo.mktows.AuthenticationHeaderInfo;
import com.marketo.mktows.LeadKey;
import com.marketo.mktows.LeadKeyRef;
import com.marketo.mktows.LeadRecord;
import com.marketo.mktows.MktMktowsApiService;
import com.marketo.mktows.MktowsPort;
import com.marketo.mktows.ParamsGetLead;
import com.marketo.mktows.ResultGetLead;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.xml.ws.BindingProvider;

public class GetLead {
    public static void main(String[] args) throws Exception {
        String endpoint = System.getenv("MKTOWS_ENDPOINT");  // the one value that changes when moving to mktows
        String userId = System.getenv("MKTOWS_USER_ID");
        String encryptionKey = System.getenv("MKTOWS_ENCRYPTION_KEY");
        String email = args[0];

        MktowsPort port = new MktMktowsApiService(new URL(endpoint + "?WSDL")).getMktowsApiSoapPort();
        // Stubs built from a saved copy of Marketo's WSDL still name Marketo's host: this line points them here.
        ((BindingProvider) port).getRequestContext().put(BindingProvider.ENDPOINT_ADDRESS_PROPERTY, endpoint);

        ParamsGetLead params = new ParamsGetLead();
        LeadKey key = new LeadKey();
        key.setKeyType(LeadKeyRef.EMAIL);
        key.setKeyValue(email);
        params.setLeadKey(key);

        ResultGetLead result = port.getLead(params, authHeader(userId, encryptionKey)).getResult();
        for (LeadRecord lead : result.getLeadRecordList().getValue().getLeadRecord()) {
            String firstName = "";
            for (Attribute attribute : lead.getLeadAttributeList().getValue().getAttribute()) {
                if (attribute.getAttrName().equals("FirstName")) {
                    firstName = attribute.getAttrValue();
                }
            }
            System.out.println("id=" + lead.getId().getValue() + " FirstName=" + firstName);
        }
    }

    /** A fresh AuthenticationHeader: sign every call, never reuse one (it expires). */
    static AuthenticationHeaderInfo authHeader(String userId, String encryptionKey) throws Exception {
        // 2026-03-01T01:30:00-08:00 (...Z when the JVM's zone is UTC), the same string signed and sent
        String timestamp = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ssXXX").format(ZonedDateTime.now());
        Mac mac = Mac.getInstance("HmacSHA1");
        mac.init(new SecretKeySpec(encryptionKey.getBytes(StandardCharsets.UTF_8), "HmacSHA1"));
        byte[] digest = mac.doFinal((timestamp + userId).getBytes(StandardCharsets.UTF_8));
        StringBuilder signature = new StringBuilder();
        for (byte b : digest) {
            signature.append(String.format("%02x", b));
        }
        AuthenticationHeaderInfo header = new AuthenticationHeaderInfo();
        header.setMktowsUserId(userId);
        header.setRequestSignature(signature.toString());
        header.setRequestTimestamp(timestamp);
        return header;
    }
}
