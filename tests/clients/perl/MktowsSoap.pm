package MktowsSoap;
# What every SOAP::Lite scenario does, without WSDL, the way Perl users call the Marketo
# API (see wire-samples/perl_soaplite-*): proxy + uri, an `mkt` prefix for the Marketo
# namespace, an AuthenticationHeader built from SOAP::Header with autotyped leaves
# (xsi:type="xsd:string"/"xsd:dateTime"), signed with HMAC-SHA1 over
# strftime('%Y-%m-%dT%H:%M:%S+00:00', gmtime) . $userId, and the JSON report a scenario
# prints: exit 0 when every step ran, exit 1 with {"ok": false, "step", "error", "trace"}
# (the last request/response) when a step failed unexpectedly.
use strict;
use warnings;

use Exporter 'import';
use Digest::SHA qw(hmac_sha1_hex);
use POSIX qw(strftime);
use JSON::PP;
use SOAP::Lite;

use constant NS => 'http://www.marketo.com/mktows/';

our @EXPORT = qw(NS arg_or_env str as_list items connect_api call_op require_ok fault_report
                 last_request start_report step fail_with run_report);

my ($soap, $user_id, $key);
my ($last_request, $last_response) = ('', '');
my $report = {};
my $step = 'start';

sub arg_or_env {
    my ($i, $env) = @_;
    my $v = $ARGV[$i - 1];
    $v = $ENV{$env} if !defined $v || $v eq '';
    if (!defined $v || $v eq '') {
        print STDERR "missing argument $i (or env $env)\n";
        exit 2;
    }
    return $v;
}

# A leaf typed xsd:string (SOAP::Lite would autotype "12" as xsd:int).
sub str { SOAP::Data->name($_[0])->type(string => $_[1]) }

# A deserialized list wrapper's items: SOAP::Lite gives one item as itself, several as an
# array ref, none as an empty string.
sub as_list {
    my ($v) = @_;
    return () if !defined $v || (!ref $v && $v eq '');
    return ref $v eq 'ARRAY' ? @$v : ($v);
}

# The items of a list wrapper inside a deserialized struct: items($result, 'mObjectList',
# 'mObject'). An empty wrapper (<mObjectList/>) comes back as an empty string.
sub items {
    my ($parent, $wrapper, $item) = @_;
    my $w = ref $parent eq 'HASH' ? $parent->{$wrapper} : undef;
    return ref $w eq 'HASH' ? as_list($w->{$item}) : ();
}

sub connect_api {
    my ($endpoint);
    ($endpoint, $user_id, $key) = @_;
    $soap = SOAP::Lite->proxy($endpoint, timeout => 30)
        ->uri(NS)
        ->ns(NS, 'mkt')
        ->on_fault(sub { return $_[1] });    # return the SOM of a fault; the caller inspects it
    # Keep the last request/response for the report (SOAP::Lite's trace hooks).
    $soap->transport->add_handler(request_send => sub { $last_request = $_[0]->as_string; return });
    $soap->transport->add_handler(response_done => sub { $last_response = $_[0]->as_string; return });
    return $soap;
}

sub last_request { $last_request }

sub auth_header {
    my $ts  = strftime('%Y-%m-%dT%H:%M:%S+00:00', gmtime());
    my $sig = hmac_sha1_hex($ts . $user_id, $key);
    return SOAP::Header->name('AuthenticationHeader')->prefix('mkt')->uri(NS)->value(
        \SOAP::Data->value(
            SOAP::Data->name(mktowsUserId     => $user_id),
            SOAP::Data->name(requestSignature => $sig),
            SOAP::Data->name(requestTimestamp => $ts),
        )
    );
}

# Call an operation: body element mkt:params{Op} holding @params, plus a fresh header.
sub call_op {
    my ($op, @params) = @_;
    my $body = SOAP::Data->name('params' . ucfirst($op))->prefix('mkt')->uri(NS);
    return $soap->call($body => @params, auth_header());
}

# The report printed at the end; `step` names what runs now, for a failure report.
sub start_report { $report = { @_, ok => JSON::PP::true }; return $report }
sub step { $step = $_[0] }

sub emit {
    my ($code) = @_;
    binmode STDOUT, ':encoding(UTF-8)';
    print JSON::PP->new->canonical->pretty->encode($report);
    exit $code;
}

sub fail_with {
    my ($msg) = @_;
    $report->{ok}    = JSON::PP::false;
    $report->{step}  = $step;
    $report->{error} = $msg;
    $report->{trace} = { lastRequest => $last_request, lastResponse => $last_response };
    emit(1);
}

sub require_ok {
    my ($som) = @_;
    fail_with('no response') unless defined $som && ref $som;
    if ($som->fault) {
        fail_with('SOAP fault: ' . ($som->faultstring // '') . ' / ' . encode_json($som->fault));
    }
    return $som;
}

# What a fault SOM carries: faultcode, faultstring, detail/serviceException, HTTP status.
sub fault_report {
    my ($som) = @_;
    fail_with('no response') unless defined $som && ref $som;
    return { raised => JSON::PP::false } unless $som->fault;
    my $detail = $som->faultdetail;
    my $se = ref $detail eq 'HASH' ? $detail->{serviceException} : undef;
    return {
        raised      => JSON::PP::true,
        faultcode   => $som->faultcode,
        faultstring => $som->faultstring,
        code        => (ref $se eq 'HASH' && defined $se->{code}) ? 0 + $se->{code} : undef,
        name        => ref $se eq 'HASH' ? $se->{name} : undef,
        message     => ref $se eq 'HASH' ? $se->{message} : undef,
        httpStatus  => ($last_response =~ m{^HTTP/\S+ (\d+)} ? 0 + $1 : undef),
    };
}

# Run the scenario's steps, then print the report (exit 0), or the failure (exit 1).
sub run_report {
    my ($steps) = @_;
    my $ok = eval { $steps->(); 1 };
    fail_with("died: $@") unless $ok;
    emit(0);
}

1;
