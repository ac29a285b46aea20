#!/usr/bin/perl
# SOAP::Lite scenario against a mktows endpoint, without WSDL, the way Perl users call
# the Marketo API (see wire-samples/perl_soaplite-*; the connection, the signed
# AuthenticationHeader and the report come from MktowsSoap.pm), with a LeadKeySelector
# typed with xsi:type="mkt:LeadKeySelector".
#
# Usage: perl scenario.pl ENDPOINT USER KEY EMAIL LIST
#   (or env MKTOWS_ENDPOINT, MKTOWS_USER, MKTOWS_KEY, MKTOWS_EMAIL, MKTOWS_LIST)
#
# Prints one JSON object on stdout (see MktowsSoap.pm for the exit codes).
use strict;
use warnings;
use utf8;

use FindBin;
use lib $FindBin::Bin;
use Digest::MD5 qw(md5_hex);
use JSON::PP;
use SOAP::Lite;
use MktowsSoap;

my $endpoint = arg_or_env(1, 'MKTOWS_ENDPOINT');
my $user_id  = arg_or_env(2, 'MKTOWS_USER');
my $key      = arg_or_env(3, 'MKTOWS_KEY');
my $email    = arg_or_env(4, 'MKTOWS_EMAIL');
my $list     = arg_or_env(5, 'MKTOWS_LIST');

connect_api($endpoint, $user_id, $key);

sub attr_map {
    my ($som, $path) = @_;
    my %attrs;
    for my $a ($som->valueof($path)) {
        $attrs{ $a->{attrName} } = $a->{attrValue};
    }
    return \%attrs;
}

my $out = start_report(client => 'perl-soaplite', soap_lite_version => $SOAP::Lite::VERSION);

run_report(sub {
    # 1. syncLead (returnLead true)
    step('syncLead');
    my $first  = 'Perl-Ünïcode';
    my $custom = 'perl-custom-' . substr(md5_hex($email), 0, 8);
    $out->{sent} = { FirstName => $first, Seed_Custom_Field => $custom };
    my $som = require_ok(call_op('syncLead',
        SOAP::Data->name(leadRecord => \SOAP::Data->value(
            str(Email => $email),
            SOAP::Data->name(leadAttributeList => \SOAP::Data->value(
                SOAP::Data->name(attribute => \SOAP::Data->value(str(attrName => 'FirstName'), str(attrValue => $first))),
                SOAP::Data->name(attribute => \SOAP::Data->value(str(attrName => 'Seed_Custom_Field'), str(attrValue => $custom))),
            )),
        )),
        SOAP::Data->name(returnLead => 'true')->type('boolean'),
    ));
    my $lead_id = 0 + $som->valueof('//successSyncLead/result/leadId');
    $out->{syncLead} = {
        leadId        => $lead_id,
        status        => $som->valueof('//successSyncLead/result/syncStatus/status'),
        statusLeadId  => 0 + $som->valueof('//successSyncLead/result/syncStatus/leadId'),
        returnedEmail => scalar $som->valueof('//successSyncLead/result/leadRecord/Email'),
        returnedId    => 0 + ($som->valueof('//successSyncLead/result/leadRecord/Id') // 0),
        returnedAttrs => attr_map($som, '//successSyncLead/result/leadRecord/leadAttributeList/attribute'),
    };

    # 2. getLead by EMAIL
    step('getLead');
    $som = require_ok(call_op('getLead',
        SOAP::Data->name(leadKey => \SOAP::Data->value(str(keyType => 'EMAIL'), str(keyValue => $email)))));
    my @recs = $som->valueof('//successGetLead/result/leadRecordList/leadRecord');
    $out->{getLead} = {
        count   => 0 + $som->valueof('//successGetLead/result/count'),
        records => scalar(@recs),
        Id      => 0 + ($som->valueof('//successGetLead/result/leadRecordList/leadRecord/Id') // 0),
        Email   => scalar $som->valueof('//successGetLead/result/leadRecordList/leadRecord/Email'),
        attrs   => attr_map($som, '//successGetLead/result/leadRecordList/leadRecord/leadAttributeList/attribute'),
    };

    # 3. getMultipleLeads with a LeadKeySelector (xsi:type="mkt:LeadKeySelector"); one key
    #    matches, the other matches nothing and is skipped.
    step('getMultipleLeads');
    my $missing = 'nobody-' . substr(md5_hex($email), 0, 10) . '@mktows-test.example.com';
    $som = require_ok(call_op('getMultipleLeads',
        SOAP::Data->name(leadSelector => \SOAP::Data->value(
            str(keyType => 'EMAIL'),
            SOAP::Data->name(keyValues => \SOAP::Data->value(str(stringItem => $email), str(stringItem => $missing))),
        ))->type('mkt:LeadKeySelector'),
        SOAP::Data->name(batchSize => 10)->type('int'),
    ));
    my $mpath = '//successGetMultipleLeads/result';
    my @ids    = map { 0 + $_ } $som->valueof("$mpath/leadRecordList/leadRecord/Id");
    my @emails = $som->valueof("$mpath/leadRecordList/leadRecord/Email");
    $out->{getMultipleLeads} = {
        returnCount       => 0 + $som->valueof("$mpath/returnCount"),
        remainingCount    => 0 + $som->valueof("$mpath/remainingCount"),
        ids               => \@ids,
        emails            => \@emails,
        requestHasXsiType => (last_request() =~ /xsi:type="mkt:LeadKeySelector"/ ? JSON::PP::true : JSON::PP::false),
    };

    # 4. listOperation ADDTOLIST, then ISMEMBEROFLIST
    for my $pair (['ADDTOLIST', 'addToList'], ['ISMEMBEROFLIST', 'isMemberOfList']) {
        my ($op, $k) = @$pair;
        step("listOperation $op");
        $som = require_ok(call_op('listOperation',
            str(listOperation => $op),
            SOAP::Data->name(listKey => \SOAP::Data->value(str(keyType => 'MKTOLISTNAME'), str(keyValue => $list))),
            SOAP::Data->name(listMemberList => \SOAP::Data->value(
                SOAP::Data->name(leadKey => \SOAP::Data->value(str(keyType => 'IDNUM'), str(keyValue => "$lead_id"))),
            )),
            SOAP::Data->name(strict => 'false')->type('boolean'),
        ));
        my $rpath = '//successListOperation/result';
        my @statuses;
        for my $ls ($som->valueof("$rpath/statusList/leadStatus")) {
            push @statuses, {
                keyType  => $ls->{leadKey}{keyType},
                keyValue => "$ls->{leadKey}{keyValue}",
                status   => ($ls->{status} eq 'true' || $ls->{status} eq '1') ? JSON::PP::true : JSON::PP::false,
            };
        }
        my $success = $som->valueof("$rpath/success");
        $out->{$k} = {
            success  => ($success eq 'true' || $success eq '1') ? JSON::PP::true : JSON::PP::false,
            statuses => \@statuses,
        };
    }

    # 5. getLeadActivity by EMAIL
    step('getLeadActivity');
    $som = require_ok(call_op('getLeadActivity',
        SOAP::Data->name(leadKey => \SOAP::Data->value(str(keyType => 'EMAIL'), str(keyValue => $email))),
        SOAP::Data->name(batchSize => 100)->type('int'),
    ));
    my $apath = '//successGetLeadActivity/leadActivityList';
    my @types = $som->valueof("$apath/activityRecordList/activityRecord/activityType");
    my $new_lead;
    my $n = scalar @types;
    for my $i (1 .. $n) {
        next unless $types[$i - 1] eq 'New Lead';
        $new_lead = attr_map($som, "$apath/activityRecordList/[$i]/activityAttributes/attribute");
        $new_lead->{'@mktPersonId'} = '' . $som->valueof("$apath/activityRecordList/[$i]/mktPersonId");
        last;
    }
    $out->{getLeadActivity} = {
        returnCount    => 0 + $som->valueof("$apath/returnCount"),
        remainingCount => 0 + $som->valueof("$apath/remainingCount"),
        types          => \@types,
        newLead        => $new_lead,
    };

    # 6. getLead for an unknown email must come back as a SOAP fault.
    step('getLead unknown');
    my $unknown = 'unknown-' . substr(md5_hex($email . 'x'), 0, 10) . '@mktows-test.example.com';
    $out->{unknownEmail} = $unknown;
    $out->{fault} = fault_report(call_op('getLead',
        SOAP::Data->name(leadKey => \SOAP::Data->value(str(keyType => 'EMAIL'), str(keyValue => $unknown)))));
});
