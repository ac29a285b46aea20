# getLead by email with Savon 2, against mktows or any Marketo SOAP 2_x endpoint.
#
#   gem install savon
#   MKTOWS_ENDPOINT=http://127.0.0.1:8080/soap/mktows/2_9 MKTOWS_USER_ID=... \
#   MKTOWS_ENCRYPTION_KEY=... ruby get_lead.rb ada@example.com

require "openssl"
require "savon"
require "time"

endpoint = ENV.fetch("MKTOWS_ENDPOINT") # the one value that changes when moving to mktows
user_id = ENV.fetch("MKTOWS_USER_ID")
encryption_key = ENV.fetch("MKTOWS_ENCRYPTION_KEY")
email = ARGV.fetch(0)

# A fresh AuthenticationHeader: sign every call, never reuse one (it expires).
def auth_header(user_id, encryption_key)
  timestamp = Time.now.iso8601 # 2026-03-01T01:30:00-08:00
  signature = OpenSSL::HMAC.hexdigest("SHA1", encryption_key, timestamp + user_id)
  { "ns1:AuthenticationHeader" => {
    "mktowsUserId" => user_id, "requestSignature" => signature, "requestTimestamp" => timestamp
  } }
end

client = Savon.client(
  wsdl: "#{endpoint}?WSDL", # not the old central app.marketo.com WSDL
  endpoint: endpoint,
  namespace_identifier: :ns1,
  env_namespace: :"SOAP-ENV",
)
response = client.call(
  :get_lead,
  message_tag: "paramsGetLead",
  soap_header: auth_header(user_id, encryption_key),
  message: { "leadKey" => { "keyType" => "EMAIL", "keyValue" => email } },
)

# One element comes back as a Hash, several as an Array: wrap before iterating.
result = response.body[:success_get_lead][:result]
[result[:lead_record_list][:lead_record]].flatten(1).each do |lead|
  attributes = [lead[:lead_attribute_list][:attribute]].flatten(1)
  first_name = attributes.find { |a| a[:attr_name] == "FirstName" }&.fetch(:attr_value)
  puts "id=#{lead[:id]} FirstName=#{first_name}"
end
